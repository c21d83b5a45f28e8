// Benchmark 1: processing cost per image. Our processing function (both
// thumbnails + metadata + EXIF, captions off) against djpeg -scale 1/4 (the
// JPEG decode floor), vipsthumbnail and ImageMagick, on the same files in the
// same run, one image at a time, runs of each method interleaved so that
// machine noise hits them alike.
//   npm run bench:processing   (BENCH_REPEATS: runs per large file, 7; BENCH_PHOTO_REPEATS: per sample photo, 3)
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { realPhotos, processOnce } from './support/photos.ts';
import { fmt, median, printSection, progress, ratio, sum, table, verdict } from './support/report.ts';
import { SYNTHETIC, syntheticImage } from './support/synthetic-images.ts';
import { cpuCommand, findTool, installHint, timeCommand } from './support/tools.ts';
import type { Tool } from './support/tools.ts';

interface BenchFile {
  name: string;
  path: string;
  bytes: Buffer;
  jpeg: boolean;
}

type Method = 'ours' | 'djpeg' | 'vips' | 'convert' | 'convertHinted';

const METHOD_LABELS: Record<Method, string> = {
  ours: 'ours (sharp + exifr)',
  djpeg: 'djpeg -scale 1/4',
  vips: 'vipsthumbnail ×2 sizes',
  convert: 'convert -thumbnail',
  convertHinted: 'convert + jpeg:size hint',
};

const TARGET_DJPEG_RATIO = 1.3;
const TARGET_CONVERT_RATIO = 8;

const outDir = mkdtempSync(join(tmpdir(), 'bench-processing-'));

function commandFor(method: Exclude<Method, 'ours'>, tools: Record<string, Tool | null>, file: BenchFile): Array<{ path: string; args: string[] }> | null {
  const out = (suffix: string): string => join(outDir, `out-${suffix}.jpg`);
  switch (method) {
    case 'djpeg': {
      const djpeg = tools.djpeg;
      return djpeg && file.jpeg ? [{ path: djpeg.path, args: ['-scale', '1/4', '-outfile', '/dev/null', file.path] }] : null;
    }
    case 'vips': {
      const vips = tools.vipsthumbnail;
      // One run per size: vipsthumbnail makes one size per run (shrink-on-load each time).
      return vips
        ? [512, 128].map((size) => ({ path: vips.path, args: [file.path, '--size', `${size}x${size}>`, '-o', `${out(`vips-${size}`)}[Q=80,strip]`] }))
        : null;
    }
    case 'convert':
    case 'convertHinted': {
      const convert = tools.convert;
      if (!convert || (method === 'convertHinted' && !file.jpeg)) return null;
      // One decode, both sizes: the 128 px one is made from the 512 px one, as ours is.
      const hint = method === 'convertHinted' ? ['-define', 'jpeg:size=1024x1024'] : [];
      return [
        {
          path: convert.path,
          args: [...hint, file.path, '-auto-orient', '-background', 'white', '-alpha', 'remove', '-strip', '-quality', '80',
            '-thumbnail', '512x512>', '-write', out('im-512'), '-thumbnail', '128x128>', out('im-128')],
        },
      ];
    }
  }
}

interface Sample {
  wallMs: number;
  cpuMs: number;
}

async function runMethod(method: Method, tools: Record<string, Tool | null>, file: BenchFile, clock: 'wall' | 'cpu'): Promise<number | null> {
  if (method === 'ours') {
    const started = performance.now();
    const cpu = process.cpuUsage();
    await processOnce(file.bytes);
    const used = process.cpuUsage(cpu);
    return clock === 'wall' ? performance.now() - started : (used.user + used.system) / 1000;
  }
  const commands = commandFor(method, tools, file);
  if (!commands) return null;
  const measureOne = clock === 'wall' ? timeCommand : cpuCommand;
  return sum(commands.map((command) => measureOne(command.path, command.args)));
}

type Measured = Record<Method, Sample | null>;

/** Per method for one file: median wall ms and mean CPU ms (bash reports CPU in whole ms, so a mean, not a median). */
async function measure(file: BenchFile, methods: readonly Method[], tools: Record<string, Tool | null>, repeats: number): Promise<Measured> {
  const wall = new Map<Method, number[]>(methods.map((method) => [method, []]));
  const cpu = new Map<Method, number[]>(methods.map((method) => [method, []]));
  // One untimed warm-up each: page cache, sharp's first-call set-up, the tools' shared libraries.
  for (const method of methods) await runMethod(method, tools, file, 'wall');
  for (let i = 0; i < repeats; i++) {
    for (const method of methods) {
      const ms = await runMethod(method, tools, file, 'wall');
      if (ms !== null) wall.get(method)?.push(ms);
    }
    for (const method of methods) {
      const ms = await runMethod(method, tools, file, 'cpu');
      if (ms !== null) cpu.get(method)?.push(ms);
    }
  }
  const result = {} as Measured;
  for (const method of methods) {
    const wallValues = wall.get(method) ?? [];
    const cpuValues = cpu.get(method) ?? [];
    result[method] = wallValues.length > 0 ? { wallMs: median(wallValues), cpuMs: sum(cpuValues) / cpuValues.length } : null;
  }
  return result;
}

async function main(): Promise<void> {
  const repeats = Number(process.env.BENCH_REPEATS ?? 7);
  const tools: Record<string, Tool | null> = {
    djpeg: findTool('djpeg'),
    vipsthumbnail: findTool('vipsthumbnail'),
    convert: findTool('convert'),
  };
  const missing = Object.entries(tools).filter(([, tool]) => tool === null).map(([name]) => name);
  for (const name of missing) progress(`${name} not found, its column reads n/a. Install: ${installHint(name)}`);
  const methods: Method[] = ['ours', 'djpeg', 'vips', 'convert', 'convertHinted'];
  const spawnBaseline = median(Array.from({ length: 15 }, () => timeCommand('/bin/sh', ['-c', ':'])));

  const wallRows: string[][] = [];
  const cpuRows: string[][] = [];
  const headers = ['input', 'files', ...methods.map((method) => METHOD_LABELS[method]), 'ours / djpeg', 'vips / ours', 'convert / ours'];
  const addRows = (label: string, count: number, r: Measured): void => {
    for (const [rows, clock] of [[wallRows, 'wallMs'], [cpuRows, 'cpuMs']] as const) {
      const pick = (method: Method): number | null => r[method]?.[clock] ?? null;
      rows.push([label, String(count), ...methods.map((method) => fmt(pick(method))), ratio(pick('ours'), pick('djpeg')), ratio(pick('vips'), pick('ours')), ratio(pick('convert'), pick('ours'))]);
    }
  };

  // Real photos: per-file figures, then the whole set's total and its median image.
  const photos = await realPhotos();
  const photoRepeats = Number(process.env.BENCH_PHOTO_REPEATS ?? 3);
  if (photos.length > 0) {
    progress(`real photos: ${photos.length} files × ${photoRepeats} runs per method and clock`);
    const perFile: Measured[] = [];
    for (const photo of photos) perFile.push(await measure({ ...photo, jpeg: true }, methods, tools, photoRepeats));
    const collect = (reduce: (values: number[]) => number): Measured => {
      const result = {} as Measured;
      for (const method of methods) {
        const samples = perFile.map((r) => r[method]).filter((sample): sample is Sample => sample !== null);
        result[method] =
          samples.length === photos.length ? { wallMs: reduce(samples.map((x) => x.wallMs)), cpuMs: reduce(samples.map((x) => x.cpuMs)) } : null;
      }
      return result;
    };
    addRows('real photos, whole set (sum)', photos.length, collect(sum));
    addRows('real photos, median image', photos.length, collect(median));
    photos.forEach((photo, index) => {
      const measured = perFile[index];
      if (photo.bytes.length > 400_000 && measured) addRows(`real: ${photo.name} (${(photo.bytes.length / 1e6).toFixed(1)} MB)`, 1, measured);
    });
  }

  const synthetic: Partial<Record<keyof typeof SYNTHETIC, Measured>> = {};
  for (const key of ['jpeg12', 'jpeg12Smooth', 'jpeg24', 'png12'] as const) {
    const spec = SYNTHETIC[key];
    const path = await syntheticImage(spec);
    progress(`${spec.label}: ${repeats} runs per method and clock`);
    const bytes = await readFile(path);
    const result = await measure({ name: spec.label, path, bytes, jpeg: spec.format === 'jpeg' }, methods, tools, repeats);
    synthetic[key] = result;
    addRows(`${spec.label}, ${(bytes.length / 1e6).toFixed(1)} MB`, 1, result);
  }

  const twelve = synthetic.jpeg12;
  const targetRow = (clock: 'wallMs' | 'cpuMs', name: string): string[][] => {
    const ours = twelve?.ours?.[clock] ?? null;
    const djpeg = twelve?.djpeg?.[clock] ?? null;
    const convert = twelve?.convert?.[clock] ?? null;
    const djpegRatio = ours !== null && djpeg !== null ? ours / djpeg : null;
    const convertRatio = ours !== null && convert !== null ? convert / ours : null;
    return [
      [`ours ≤ ${TARGET_DJPEG_RATIO}× djpeg -scale 1/4`, name, djpegRatio === null ? 'n/a' : `${djpegRatio.toFixed(2)}×`, verdict(djpegRatio === null ? null : djpegRatio <= TARGET_DJPEG_RATIO)],
      [`ImageMagick ≥ ${TARGET_CONVERT_RATIO}× ours`, name, convertRatio === null ? 'n/a' : `${convertRatio.toFixed(1)}×`, verdict(convertRatio === null ? null : convertRatio >= TARGET_CONVERT_RATIO)],
    ];
  };
  const targets = table(['target (12 MP JPEG, both thumbnails)', 'clock', 'measured', 'verdict'], [...targetRow('wallMs', 'wall'), ...targetRow('cpuMs', 'CPU')]);
  const toolList = Object.entries(tools)
    .map(([name, tool]) => `${name}: ${tool ? `${tool.path} (${tool.version})` : `not installed (${installHint(name)})`}`)
    .join('; ');
  printSection(
    'Processing cost per image (one image at a time)',
    `Repeats per file and clock: ${repeats} (real photos: ${photoRepeats}), after one warm-up run. Wall: median ms from start to finish; external tools are timed from spawn to exit; ` +
      `spawning a process that does nothing (\`sh -c :\`) takes ${spawnBaseline.toFixed(1)} ms here and is included in their figures. ` +
      `Ours runs in-process, as the Lambda does. vipsthumbnail runs once per size (two decodes); convert makes both sizes from one decode. ` +
      `"jpeg:size hint" lets ImageMagick's JPEG decoder shrink on load (not part of the target, shown for reference). Tools: ${toolList}.`,
    `CPU: mean ms of user + system time over all threads (ours: process.cpuUsage(); tools: bash \`times\` for the child). ImageMagick's OpenMP and libvips' worker threads spread one image over both cores, so their CPU figures exceed their wall figures.`,
    '**Wall-clock ms (median)**',
    table(headers, wallRows),
    '**CPU ms (mean, all threads)**',
    table(headers, cpuRows),
    targets,
  );
}

try {
  await main();
} finally {
  rmSync(outDir, { recursive: true, force: true });
}
