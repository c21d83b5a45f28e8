// Benchmark 4: peak RSS of the processing function (both thumbnails +
// metadata + EXIF) on a 24 MP JPEG and a 50 MP PNG, each case in a child
// process of its own (bench/memory-child.ts), maxRSS from process.resourceUsage().
//   npm run bench:memory
// This process stays small on purpose (no sharp here): on Linux a child's
// maxRSS starts at its parent's RSS at fork time, so a big parent would
// inflate every child's figure.
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { fmt, printSection, progress, table, verdict } from './support/report.ts';

const TARGET_MB = 512;
const CHILD = resolve(import.meta.dirname, 'memory-child.ts');

interface ChildResult {
  beforeKiB: number;
  peakKiB: number;
  vmHwmKiB: number | null;
  ms: number;
  fileBytes: number;
}

interface PreparedImage {
  path: string;
  megapixels: number;
  fileBytes: number;
}

function child(args: string[]): string {
  return execFileSync(process.execPath, [CHILD, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 300_000 });
}

const mib = (kib: number): number => kib / 1024;

function main(): void {
  progress('memory: preparing the synthetic images');
  const images = JSON.parse(child(['--prepare']).trim()) as Record<string, PreparedImage>;
  const cases: Array<{ key: string; label: string; copies: number; note: string }> = [
    { key: 'jpeg12', label: '12 MP JPEG', copies: 1, note: '' },
    { key: 'jpeg24', label: '24 MP JPEG', copies: 1, note: 'the target case' },
    { key: 'png50', label: '50 MP PNG', copies: 1, note: '' },
    { key: 'jpeg24', label: '24 MP JPEG ×4 at once', copies: 4, note: 'a batch at PROCESSING_CONCURRENCY=4' },
    { key: 'png50', label: '50 MP PNG ×2 at once', copies: 2, note: '' },
  ];
  const rows: string[][] = [];
  let targetPeak: number | null = null;
  for (const c of cases) {
    const image = images[c.key];
    if (!image) throw new Error(`no prepared image ${c.key}`);
    progress(`memory: ${c.label}`);
    const result = JSON.parse(child([image.path, String(c.copies)]).trim().split('\n').pop() ?? '{}') as ChildResult;
    if (c.note === 'the target case') targetPeak = mib(result.peakKiB);
    rows.push([
      c.label,
      fmt(image.fileBytes / 1e6),
      fmt(image.megapixels, 1),
      fmt(mib(result.beforeKiB), 0),
      fmt(mib(result.peakKiB), 0),
      fmt(mib(result.peakKiB - result.beforeKiB), 0),
      result.vmHwmKiB === null ? 'n/a' : fmt(mib(result.vmHwmKiB), 0),
      fmt(result.ms, 0),
      c.note,
    ]);
  }
  printSection(
    'Memory: peak RSS of the processing function',
    'Each row is a fresh Node process that loads the processing code, reads the image into memory (as the processor holds the S3 object), then processes it. ' +
      '"before": peak RSS up to then (Node, sharp/libvips, exifr and the original bytes); "peak": process.resourceUsage().maxRSS afterwards; "added": what processing added; ' +
      'VmHWM: the kernel\'s high-water mark of the same process (/proc/self/status), a cross-check. ' +
      'The 50 MP PNG is photo-like and 148 MB, far over the 10 MB upload limit: its original bytes alone are most of its "before".',
    table(['input', 'file MB', 'MP', 'before MiB', 'peak MiB', 'added MiB', 'VmHWM MiB', 'ms', 'note'], rows),
    table(
      ['target', 'measured', 'verdict'],
      [[`peak RSS < ${TARGET_MB} MB on a 24 MP JPEG`, targetPeak === null ? 'n/a' : `${targetPeak.toFixed(0)} MiB`, verdict(targetPeak === null ? null : targetPeak < TARGET_MB)]],
    ),
  );
}

main();
