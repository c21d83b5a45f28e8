import assert from 'node:assert/strict';
import { test } from 'node:test';
import sharp from 'sharp';
import { CONTENT_TYPES, sniffImageFormat } from '../../lib/images/sniff.ts';
import { listSamples, readSample } from '../support/sample-images.ts';

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

const jpegSamples = [
  ...(await listSamples('cameras')),
  ...(await listSamples('orientation')),
  'mobile/jolla.jpg',
];

test('sniffImageFormat: every real JPEG sample → jpg', async () => {
  for (const rel of jpegSamples) {
    assert.equal(sniffImageFormat(await readSample(rel)), 'jpg', rel);
  }
});

test('sniffImageFormat: PNG written by sharp → png', async () => {
  const png = await sharp({ create: { width: 4, height: 4, channels: 4, background: '#0000' } }).png().toBuffer();
  assert.equal(sniffImageFormat(png), 'png');
});

test('sniffImageFormat: bare 8-byte PNG signature → png (decided by magic only)', () => {
  assert.equal(sniffImageFormat(Uint8Array.from(PNG_SIGNATURE)), 'png');
});

test('sniffImageFormat: bare FF D8 FF → jpg (decided by magic only)', () => {
  assert.equal(sniffImageFormat(Uint8Array.from([0xff, 0xd8, 0xff])), 'jpg');
});

for (const rel of await listSamples('heic')) {
  test(`sniffImageFormat: ${rel} (HEIC/HEIF) → null`, async () => {
    assert.equal(sniffImageFormat(await readSample(rel)), null);
  });
}

test('sniffImageFormat: GIF and WebP written by sharp → null', async () => {
  const base = sharp({ create: { width: 4, height: 4, channels: 3, background: '#f00' } });
  assert.equal(sniffImageFormat(await base.clone().gif().toBuffer()), null);
  assert.equal(sniffImageFormat(await base.clone().webp().toBuffer()), null);
});

const textLike: Record<string, string> = {
  PDF: '%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj',
  SVG: '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>',
  'SVG with XML prolog': '<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>',
  HTML: '<!doctype html><html><body><img src=x onerror=alert(1)></body></html>',
  'GIF header': 'GIF89a\x01\x00\x01\x00',
  'RIFF WebP header': 'RIFF\x00\x00\x00\x00WEBPVP8 ',
};
for (const [name, text] of Object.entries(textLike)) {
  test(`sniffImageFormat: ${name} → null`, () => {
    assert.equal(sniffImageFormat(Buffer.from(text, 'latin1')), null);
  });
}

test('sniffImageFormat: empty buffer → null', () => {
  assert.equal(sniffImageFormat(new Uint8Array(0)), null);
});

test('sniffImageFormat: truncated magic (FF D8, 7 of 8 PNG bytes) → null', () => {
  assert.equal(sniffImageFormat(Uint8Array.from([0xff, 0xd8])), null);
  assert.equal(sniffImageFormat(Uint8Array.from(PNG_SIGNATURE.slice(0, 7))), null);
});

test('sniffImageFormat: PNG signature with CR LF mangled to LF → null', () => {
  const mangled = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0a, 0x1a, 0x0a, 0x00]);
  assert.equal(sniffImageFormat(mangled), null);
});

test('sniffImageFormat: JPEG magic not at offset 0 → null', () => {
  assert.equal(sniffImageFormat(Uint8Array.from([0x00, 0xff, 0xd8, 0xff, 0xe0])), null);
});

test('CONTENT_TYPES: jpg → image/jpeg, png → image/png', () => {
  assert.deepEqual(CONTENT_TYPES, { jpg: 'image/jpeg', png: 'image/png' });
});
