// Large synthetic photos, made with sharp and cached under .data/bench/images
// (git-ignored): at 1.7 to 148 MB each they are made on first use rather than
// carried in the repository like the small test photos of test/fixtures/images.
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { progress } from './report.ts';

export const BENCH_DATA_DIR = resolve(import.meta.dirname, '../../.data/bench');
const IMAGES_DIR = join(BENCH_DATA_DIR, 'images');

// Bump when the recipe changes so cached files are made again.
const RECIPE = 'v4';

export interface SyntheticSpec {
  label: string;
  file: string;
  width: number;
  height: number;
  format: 'jpeg' | 'png';
  alpha?: boolean;
  /** Strength of the fine grain, 0–1 (default 0.5): the JPEG's entropy, so its size and decode cost. */
  grain?: number;
}

export const SYNTHETIC = {
  jpeg12: { label: '12 MP JPEG (4000×3000)', file: `photo-12mp-${RECIPE}.jpg`, width: 4000, height: 3000, format: 'jpeg' },
  jpeg24: { label: '24 MP JPEG (6000×4000)', file: `photo-24mp-${RECIPE}.jpg`, width: 6000, height: 4000, format: 'jpeg' },
  jpeg12Smooth: { label: '12 MP JPEG, smoother (4000×3000)', file: `photo-12mp-smooth-${RECIPE}.jpg`, width: 4000, height: 3000, format: 'jpeg', grain: 0.05 },
  png12: { label: '12 MP PNG with alpha (4000×3000)', file: `photo-12mp-alpha-${RECIPE}.png`, width: 4000, height: 3000, format: 'png', alpha: true },
  png50: { label: '50 MP PNG (8660×5774)', file: `photo-50mp-${RECIPE}.png`, width: 8660, height: 5774, format: 'png' },
} as const satisfies Record<string, SyntheticSpec>;

/** Deterministic bytes, so every run measures the same pictures. */
function pseudoRandomBytes(length: number, seed: number): Buffer {
  const bytes = Buffer.alloc(length);
  let state = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    bytes[i] = state & 0xff;
  }
  return bytes;
}

/**
 * Smooth colour regions (a tiny random picture blown up) under a fine grain
 * tile: JPEG entropy and file size close to a camera photo (a 12 MP one is
 * about 4 MB at quality 92), unlike flat colour (too cheap) or pure noise
 * (far too expensive to decode).
 */
async function render(spec: SyntheticSpec, path: string): Promise<void> {
  const { width, height } = spec;
  const seedWidth = Math.ceil(width / 48);
  const seedHeight = Math.ceil(height / 48);
  const base = await sharp(pseudoRandomBytes(seedWidth * seedHeight * 3, width * 31 + height), { raw: { width: seedWidth, height: seedHeight, channels: 3 } })
    .resize(width, height, { kernel: 'cubic' })
    .png({ compressionLevel: 0 })
    .toBuffer();
  const tile = 509; // prime-sized, so the repetition does not line up with the 8×8 JPEG blocks
  const grain = await sharp(pseudoRandomBytes(tile * tile, 7), { raw: { width: tile, height: tile, channels: 1 } })
    .blur(0.6)
    .linear(spec.grain ?? 0.5, 128 * (1 - (spec.grain ?? 0.5)))
    .toColourspace('srgb')
    .png({ compressionLevel: 0 })
    .toBuffer();
  // Compositing adds an alpha channel: drop it in a second pipeline (operations within one run in a fixed order).
  const grained = await sharp(base, { limitInputPixels: false })
    .composite([{ input: grain, tile: true, blend: 'soft-light' }])
    .raw()
    .toBuffer({ resolveWithObject: true });
  const rgb = await sharp(grained.data, { raw: { width, height, channels: grained.info.channels }, limitInputPixels: false })
    .removeAlpha()
    .raw()
    .toBuffer();
  let image = sharp(rgb, { raw: { width, height, channels: 3 }, limitInputPixels: false });
  if (spec.alpha) {
    // A soft transparent vignette, so flattening onto white has real work to do.
    const maskWidth = 80;
    const maskHeight = 64;
    const opaque = Buffer.alloc(maskWidth * maskHeight);
    for (let y = 8; y < maskHeight - 8; y++) opaque.fill(255, y * maskWidth + 8, (y + 1) * maskWidth - 8);
    const mask = await sharp(opaque, { raw: { width: maskWidth, height: maskHeight, channels: 1 } })
      .blur(6)
      .resize(width, height)
      .extractChannel(0)
      .raw()
      .toBuffer();
    image = image.joinChannel(mask, {
      raw: { width, height, channels: 1 },
    });
  }
  const tmp = `${path}.tmp`;
  if (spec.format === 'jpeg') {
    await image
      .jpeg({ quality: 92 })
      .withExif({ IFD0: { Make: 'Bench', Model: 'Synthetic camera', Orientation: '1', DateTime: '2026:01:01 12:00:00' } })
      .toFile(tmp);
  } else {
    await image.png({ compressionLevel: 6 }).toFile(tmp);
  }
  renameSync(tmp, path);
}

/** The file for a spec, made on first use. */
export async function syntheticImage(spec: SyntheticSpec): Promise<string> {
  mkdirSync(IMAGES_DIR, { recursive: true });
  const path = join(IMAGES_DIR, spec.file);
  if (!existsSync(path)) {
    progress(`making ${spec.label} in ${IMAGES_DIR}`);
    await render(spec, path);
  }
  return path;
}
