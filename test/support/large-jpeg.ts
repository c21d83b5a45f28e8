// A 50 MP JPEG of 30-40 MB, the size of a full-resolution camera photo, for
// the direct-upload tests and bench: far too large to carry in the repository,
// so made with sharp on first use (about 15 s) and cached under .data/
// (git-ignored). Fine noise at high quality is what makes a JPEG that large.
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { join, resolve } from 'node:path';
import sharp from 'sharp';

const DIR = resolve(import.meta.dirname, '../../.data/test-images');
// Bump when the recipe changes so a cached file is made again.
const FILE = 'photo-50mp-direct-v1.jpg';
export const LARGE_JPEG = { width: 8660, height: 5774 } as const;

export async function largeJpegPath(): Promise<string> {
  const path = join(DIR, FILE);
  if (existsSync(path)) return path;
  mkdirSync(DIR, { recursive: true });
  const partial = `${path}.${process.pid}.partial`;
  await sharp({
    create: { ...LARGE_JPEG, channels: 3, background: { r: 120, g: 140, b: 100 }, noise: { type: 'gaussian', mean: 128, sigma: 10 } },
    limitInputPixels: false,
  })
    .jpeg({ quality: 98 })
    .toFile(partial);
  // Two runs at once each write their own file; the last rename wins, whole.
  renameSync(partial, path);
  return path;
}
