// One case of the memory bench, in a process of its own so that its peak RSS
// is that case's alone: node bench/memory-child.ts <image> [copies]
// Prints one JSON line: the peak RSS before and after processing.
// `node bench/memory-child.ts --prepare` makes the synthetic images instead, so
// that the parent never loads sharp itself (see bench/memory.ts).
import { readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import sharp from 'sharp';
import { processOnce } from './support/photos.ts';
import { SYNTHETIC, syntheticImage } from './support/synthetic-images.ts';

/** The kernel's high-water mark of this process's own memory (Linux), a cross-check of maxRSS. */
function vmHwmKiB(): number | null {
  try {
    const match = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return match ? Number(match[1]) : null;
  } catch {
    return null;
  }
}

const [first, copiesArg] = process.argv.slice(2);
if (first === '--prepare') {
  const images: Record<string, { path: string; megapixels: number; fileBytes: number }> = {};
  for (const [key, spec] of Object.entries(SYNTHETIC)) {
    const path = await syntheticImage(spec);
    const meta = await sharp(path, { limitInputPixels: false }).metadata();
    images[key] = { path, megapixels: ((meta.width ?? 0) * (meta.height ?? 0)) / 1e6, fileBytes: statSync(path).size };
  }
  process.stdout.write(`${JSON.stringify(images)}\n`);
} else {
  if (!first) throw new Error('usage: node bench/memory-child.ts <image> [copies] | --prepare');
  const copies = Number(copiesArg ?? 1);
  // maxRSS is in KiB. Taken once the code is loaded and the original is in memory,
  // as in the processor after S3 has handed over the bytes.
  const bytes = await readFile(first);
  const before = process.resourceUsage().maxRSS;
  const started = performance.now();
  // Separate buffers, as separate records of one batch would have.
  await Promise.all(Array.from({ length: copies }, () => processOnce(Buffer.from(bytes))));
  const ms = performance.now() - started;
  const after = process.resourceUsage().maxRSS;
  process.stdout.write(`${JSON.stringify({ beforeKiB: before, peakKiB: after, vmHwmKiB: vmHwmKiB(), ms, fileBytes: bytes.length })}\n`);
}
