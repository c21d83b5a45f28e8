import assert from 'node:assert/strict';
import { test } from 'node:test';
import zlib from 'node:zlib';
import sharp from 'sharp';
import { PermanentProcessingError } from '../../lib/errors.ts';
import { isThumbnailSize, THUMBNAIL_SIZES } from '../../lib/images/thumbnail-sizes.ts';
import { renderImage } from '../../lib/images/thumbnails.ts';
import type { Thumbnail } from '../../lib/images/thumbnails.ts';
import { jpegWithCorruptScan } from '../support/corrupt-jpeg.ts';
import { listSamples, readSample } from '../support/sample-images.ts';

const LIMIT = 100_000_000;
const render = (original: Buffer, maxInputPixels = LIMIT) => renderImage(original, { maxInputPixels });

const JPEG_MAGIC = Buffer.from([0xff, 0xd8, 0xff]);

/** What every thumbnail must be, whatever the input: plain 8-bit sRGB JPEG, no metadata. */
async function assertCleanJpeg(thumbnail: Thumbnail, label: string): Promise<void> {
  assert.ok(thumbnail.data.subarray(0, 3).equals(JPEG_MAGIC), `${label}: JPEG magic bytes`);
  const meta = await sharp(thumbnail.data).metadata();
  assert.equal(meta.format, 'jpeg', label);
  assert.equal(meta.channels, 3, `${label}: channels`);
  assert.equal(meta.space, 'srgb', `${label}: colour space`);
  assert.equal(meta.depth, 'uchar', `${label}: bit depth`);
  assert.equal(meta.exif, undefined, `${label}: EXIF must not be copied`);
  assert.equal(meta.icc, undefined, `${label}: ICC must not be copied`);
  assert.equal(meta.xmp, undefined, `${label}: XMP must not be copied`);
  assert.equal(meta.width, thumbnail.width, `${label}: reported width`);
  assert.equal(meta.height, thumbnail.height, `${label}: reported height`);
}

function longestEdge(t: { width: number; height: number }): number {
  return Math.max(t.width, t.height);
}

/** Mean absolute difference of two images shrunk to the same 32x24 grid, 0–255. */
async function pixelDifference(a: Buffer, b: Buffer): Promise<number> {
  const grid = (img: Buffer) => sharp(img).resize(32, 24, { fit: 'fill' }).removeAlpha().raw().toBuffer();
  const [pa, pb] = await Promise.all([grid(a), grid(b)]);
  let sum = 0;
  for (let i = 0; i < pa.length; i++) sum += Math.abs((pa[i] ?? 0) - (pb[i] ?? 0));
  return sum / pa.length;
}

function isPermanent(pattern: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof PermanentProcessingError, `expected PermanentProcessingError, got ${String(err)}`);
    assert.match(err.message, pattern);
    return true;
  };
}

/** A valid PNG whose IHDR claims width x height; only a few rows of pixel data follow. */
function pngDeclaring(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(zlib.crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // truecolour RGB
  const rows = zlib.deflateSync(Buffer.alloc((width * 3 + 1) * 4));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', rows),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Deterministic noise, so a failure reproduces. */
function pseudoRandomBytes(length: number, seed: number): Buffer {
  const out = Buffer.alloc(length);
  let state = seed;
  for (let i = 0; i < length; i++) {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    out[i] = state >>> 16;
  }
  return out;
}

// --- orientation/: the same picture saved with EXIF Orientation 1..8 ---

const orientationFiles = await listSamples('orientation');
const references = {
  landscape: (await render(await readSample('orientation/landscape_1.jpg'))).thumbnails.small.data,
  portrait: (await render(await readSample('orientation/portrait_1.jpg'))).thumbnails.small.data,
};

test('orientation/ holds landscape_1..8 and portrait_1, 6 and 8', () => {
  const names = orientationFiles.map((rel) => rel.slice('orientation/'.length));
  assert.deepEqual(names, [...[1, 2, 3, 4, 5, 6, 7, 8].map((n) => `landscape_${n}.jpg`), 'portrait_1.jpg', 'portrait_6.jpg', 'portrait_8.jpg']);
});

for (const rel of orientationFiles) {
  const match = /(landscape|portrait)_(\d)\.jpg$/.exec(rel);
  assert.ok(match, rel);
  const kind = match[1] === 'landscape' ? 'landscape' : 'portrait';
  const orientation = Number(match[2]);
  const shape = kind === 'landscape' ? 'wider than tall' : 'taller than wide';

  test(`renderImage: ${rel} (orientation ${orientation} ${kind}) → thumbnails ${shape}, upright`, async () => {
    const original = await readSample(rel);
    const stored = await sharp(original).metadata();
    const { metadata, thumbnails } = await render(original);

    for (const [size, thumb] of Object.entries(thumbnails)) {
      if (kind === 'landscape') assert.ok(thumb.width > thumb.height, `${size}: ${thumb.width}x${thumb.height}`);
      else assert.ok(thumb.height > thumb.width, `${size}: ${thumb.width}x${thumb.height}`);
    }
    // Orientation 5-8 store the pixels transposed; metadata reports the displayed shape.
    const transposed = orientation >= 5;
    assert.equal(metadata.width, transposed ? stored.height : stored.width);
    assert.equal(metadata.height, transposed ? stored.width : stored.height);
    assert.equal(longestEdge(thumbnails.medium), Math.min(512, longestEdge(metadata)));
    assert.equal(longestEdge(thumbnails.small), 128);

    // Aspect alone cannot catch a missing mirror (2, 4, 5, 7): compare with orientation 1.
    // A flipped or mirrored picture differs by about 30-55, the same one by about 2.
    const difference = await pixelDifference(thumbnails.small.data, references[kind]);
    assert.ok(difference < 10, `differs from ${kind}_1 by ${difference.toFixed(1)}`);
  });
}

// --- cameras/: real camera JPEGs with EXIF ---

for (const rel of await listSamples('cameras')) {
  test(`renderImage: ${rel} → 8-bit sRGB JPEG thumbnails without EXIF`, async () => {
    const original = await readSample(rel);
    const { metadata, thumbnails } = await render(original);
    assert.equal(metadata.format, 'jpg');
    assert.equal(metadata.size_bytes, original.byteLength);
    assert.ok(metadata.width > 0 && metadata.height > 0);
    await assertCleanJpeg(thumbnails.small, 'small');
    await assertCleanJpeg(thumbnails.medium, 'medium');
    assert.equal(longestEdge(thumbnails.small), Math.min(128, longestEdge(metadata)));
    assert.equal(longestEdge(thumbnails.medium), Math.min(512, longestEdge(metadata)));
  });
}

test('renderImage: mobile/jolla.jpg (3264x2448 phone photo) → 512x384 and 128x96', async () => {
  const original = await readSample('mobile/jolla.jpg');
  const { metadata, thumbnails } = await render(original);
  assert.deepEqual(metadata, { width: 3264, height: 2448, format: 'jpg', size_bytes: original.byteLength });
  assert.deepEqual([thumbnails.medium.width, thumbnails.medium.height], [512, 384]);
  assert.deepEqual([thumbnails.small.width, thumbnails.small.height], [128, 96]);
  await assertCleanJpeg(thumbnails.medium, 'medium');
});

test('renderImage: gps/DSCN0010.jpg → thumbnails carry no EXIF, so no GPS', async () => {
  const { thumbnails } = await render(await readSample('gps/DSCN0010.jpg'));
  for (const thumb of Object.values(thumbnails)) {
    assert.equal((await sharp(thumb.data).metadata()).exif, undefined);
    assert.equal(thumb.data.includes('Exif\0\0', 0, 'latin1'), false);
  }
});

// --- invalid/: broken or hostile metadata; a corrupt scan ---

for (const rel of await listSamples('invalid')) {
  test(`renderImage: ${rel} (broken metadata, decodable pixels) → succeeds`, async () => {
    const { thumbnails } = await render(await readSample(rel));
    await assertCleanJpeg(thumbnails.medium, 'medium');
    await assertCleanJpeg(thumbnails.small, 'small');
  });
}

test('renderImage: mobile/jolla.jpg with a corrupt scan (restart markers missing) → PermanentProcessingError', async () => {
  const original = jpegWithCorruptScan(await readSample('mobile/jolla.jpg'));
  const header = await sharp(original).metadata();
  assert.deepEqual([header.format, header.width, header.height], ['jpeg', 3264, 2448], 'precondition: the header still reads');
  await assert.rejects(render(original), (err: unknown) => {
    isPermanent(/^Image is corrupt or truncated$/)(err);
    assert.ok(err instanceof Error && err.cause instanceof Error, 'sharp error kept as cause');
    assert.match(err.cause.message, /Corrupt JPEG data/, 'the decoder failed in the scan, not the header');
    return true;
  });
});

// --- synthetic inputs built here with sharp ---

const scene = () =>
  sharp({ create: { width: 300, height: 200, channels: 3, background: { r: 200, g: 120, b: 60 } } });

test('renderImage: CMYK JPEG → sRGB 8-bit JPEG thumbnails', async () => {
  const cmyk = await scene().toColourspace('cmyk').jpeg().toBuffer();
  assert.equal((await sharp(cmyk).metadata()).space, 'cmyk', 'precondition: input is CMYK');
  const { metadata, thumbnails } = await render(cmyk);
  assert.deepEqual([metadata.width, metadata.height, metadata.format], [300, 200, 'jpg']);
  await assertCleanJpeg(thumbnails.medium, 'medium');
  await assertCleanJpeg(thumbnails.small, 'small');
});

test('renderImage: 16-bit PNG → sRGB 8-bit JPEG thumbnails', async () => {
  const png16 = await scene().toColourspace('rgb16').png().toBuffer();
  assert.equal((await sharp(png16).metadata()).depth, 'ushort', 'precondition: input is 16-bit');
  const { metadata, thumbnails } = await render(png16);
  assert.equal(metadata.format, 'png');
  await assertCleanJpeg(thumbnails.medium, 'medium');
  await assertCleanJpeg(thumbnails.small, 'small');
});

test('renderImage: grey-scale JPEG (1 channel) → 3-channel sRGB JPEG thumbnails', async () => {
  const grey = await scene().toColourspace('b-w').jpeg().toBuffer();
  assert.equal((await sharp(grey).metadata()).channels, 1, 'precondition: input has one channel');
  const { thumbnails } = await render(grey);
  await assertCleanJpeg(thumbnails.medium, 'medium');
  await assertCleanJpeg(thumbnails.small, 'small');
});

test('renderImage: fully transparent PNG → flattened onto white', async () => {
  const transparent = await sharp({
    create: { width: 64, height: 64, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } },
  })
    .png()
    .toBuffer();
  const { thumbnails } = await render(transparent);
  await assertCleanJpeg(thumbnails.medium, 'medium');
  const { data } = await sharp(thumbnails.medium.data).raw().toBuffer({ resolveWithObject: true });
  const corner = [...data.subarray(0, 3)];
  assert.ok(corner.every((v) => v >= 250), `corner pixel ${corner.join(',')} is not white`);
});

test('renderImage: grey-scale PNG with alpha → 3-channel sRGB JPEG thumbnails', async () => {
  const greyAlpha = await sharp({
    create: { width: 40, height: 30, channels: 4, background: { r: 90, g: 90, b: 90, alpha: 0.5 } },
  })
    .toColourspace('b-w')
    .ensureAlpha()
    .png()
    .toBuffer();
  const { thumbnails } = await render(greyAlpha);
  await assertCleanJpeg(thumbnails.small, 'small');
});

test('renderImage: 1x1 image → 1x1 thumbnails, never upscaled', async () => {
  const tiny = await sharp({ create: { width: 1, height: 1, channels: 3, background: '#123456' } }).png().toBuffer();
  const { metadata, thumbnails } = await render(tiny);
  assert.deepEqual([metadata.width, metadata.height], [1, 1]);
  assert.deepEqual([thumbnails.small.width, thumbnails.small.height], [1, 1]);
  assert.deepEqual([thumbnails.medium.width, thumbnails.medium.height], [1, 1]);
});

test('renderImage: 300x200 image → medium stays 300x200, small 128x85', async () => {
  const { thumbnails } = await render(await scene().jpeg().toBuffer());
  assert.deepEqual([thumbnails.medium.width, thumbnails.medium.height], [300, 200]);
  assert.deepEqual([thumbnails.small.width, thumbnails.small.height], [128, 85]);
});

test('renderImage: PNG declaring 50000x50000 (decompression bomb) → PermanentProcessingError naming the limit', async () => {
  const bomb = pngDeclaring(50_000, 50_000);
  assert.ok(bomb.length < 10_000, 'the bomb itself is tiny');
  const started = performance.now();
  await assert.rejects(
    render(bomb),
    isPermanent(/^Image is too large: 50000x50000 pixels exceeds the limit of 100000000$/),
  );
  assert.ok(performance.now() - started < 1000, 'refused from the header, not by decoding');
});

test('renderImage: real photo over a lowered maxInputPixels → PermanentProcessingError', async () => {
  await assert.rejects(
    render(await readSample('mobile/jolla.jpg'), 1_000_000),
    isPermanent(/^Image is too large: 3264x2448 pixels exceeds the limit of 1000000$/),
  );
});

test('renderImage: truncated JPEG (first 60% of a photo) → PermanentProcessingError', async () => {
  const photo = await readSample('mobile/jolla.jpg');
  const truncated = photo.subarray(0, Math.floor(photo.length * 0.6));
  await assert.rejects(render(truncated), isPermanent(/^Image is corrupt or truncated$/));
});

test('renderImage: JPEG cut inside its header → PermanentProcessingError', async () => {
  const photo = await readSample('cameras/Canon_40D.jpg');
  await assert.rejects(render(photo.subarray(0, 600)), isPermanent(/^Image is corrupt or truncated$/));
});

test('renderImage: truncated PNG → PermanentProcessingError', async () => {
  const png = await scene().png({ compressionLevel: 0 }).toBuffer();
  await assert.rejects(render(png.subarray(0, png.length - 2000)), isPermanent(/^Image is corrupt or truncated$/));
});

test('renderImage: random bytes → PermanentProcessingError (unsupported format)', async () => {
  await assert.rejects(render(pseudoRandomBytes(4096, 7)), isPermanent(/^Unsupported image format/));
});

test('renderImage: JPEG magic followed by random bytes → PermanentProcessingError', async () => {
  const fake = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), pseudoRandomBytes(4096, 11)]);
  await assert.rejects(render(fake), isPermanent(/^Image is corrupt or truncated$/));
});

test('renderImage: empty buffer → PermanentProcessingError', async () => {
  await assert.rejects(render(Buffer.alloc(0)), isPermanent(/^Unsupported image format/));
});

for (const rel of await listSamples('heic')) {
  test(`renderImage: ${rel} (HEIC) → PermanentProcessingError (unsupported format)`, async () => {
    await assert.rejects(render(await readSample(rel)), isPermanent(/^Unsupported image format/));
  });
}

test('renderImage: WebP → PermanentProcessingError (unsupported format)', async () => {
  await assert.rejects(render(await scene().webp().toBuffer()), isPermanent(/^Unsupported image format/));
});

test('renderImage: JPEG with a ZIP appended → succeeds, thumbnails do not contain the ZIP', async () => {
  const photo = await readSample('orientation/landscape_1.jpg');
  const zip = Buffer.concat([Buffer.from('PK\x03\x04', 'latin1'), pseudoRandomBytes(2048, 3)]);
  const polyglot = Buffer.concat([photo, zip]);
  const { metadata, thumbnails } = await render(polyglot);
  assert.equal(metadata.size_bytes, polyglot.length);
  for (const [size, thumb] of Object.entries(thumbnails)) {
    await assertCleanJpeg(thumb, size);
    assert.equal(thumb.data.includes('PK\x03\x04', 0, 'latin1'), false, `${size} contains the ZIP header`);
  }
});

// --- sizes ---

test('THUMBNAIL_SIZES: small 128, medium 512', () => {
  assert.deepEqual(THUMBNAIL_SIZES, { small: 128, medium: 512 });
});

test('isThumbnailSize: small and medium → true; large, "", toString, __proto__ → false', () => {
  assert.equal(isThumbnailSize('small'), true);
  assert.equal(isThumbnailSize('medium'), true);
  for (const s of ['large', '', 'toString', '__proto__', 'SMALL']) assert.equal(isThumbnailSize(s), false, s);
});
