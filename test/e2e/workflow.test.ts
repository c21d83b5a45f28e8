// The specification's whole workflow over HTTP, through the real stack that
// `npm start` runs: serverless-offline Lambdas, the embedded S3+SQS emulator,
// a libSQL file, sharp, and captions from a local server speaking Hugging
// Face's protocol, called by the real client.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { GetObjectCommandOutput } from '@aws-sdk/client-s3';
import sharp from 'sharp';
import { stageNames } from '../../local/resources.ts';
import { startFakeCaptionServer } from '../support/fake-caption-server.ts';
import type { FakeCaptionServer } from '../support/fake-caption-server.ts';
import { createResponseValidator } from '../support/openapi-responses.ts';
import type { ResponseValidator } from '../support/openapi-responses.ts';
import { SAMPLE_IMAGES_DIR } from '../support/sample-images.ts';
import { startStack } from '../support/stack.ts';
import type { RunningStack } from '../support/stack.ts';
import type { Envelope, ImageDetail } from '../support/api-types.ts';
import { getJson as getJsonWith, uploadPhoto, waitForFinal as waitForFinalWith } from '../support/api-client.ts';
import type { FetchJson } from '../support/api-client.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const PHOTOS = ['cameras/Canon_40D.jpg', 'orientation/portrait_6.jpg', 'gps/DSCN0010.jpg', 'mobile/jolla.jpg'];

/** The stack's OpenAPI document: every answer below is checked against it. */
let api: ResponseValidator;

const checked: FetchJson = (url, init) => api.fetch(url, init);
const getJson = <T>(url: string): Promise<{ status: number; body: Envelope<T> }> => getJsonWith<T>(url, checked);

async function upload(apiUrl: string, name: string, bytes: Uint8Array, type = 'application/octet-stream'): Promise<{ status: number; body: Envelope<ImageDetail> }> {
  const { status, body } = await uploadPhoto(apiUrl, name, bytes, { type, fetchJson: checked });
  return { status, body };
}

const waitForFinal = (apiUrl: string, id: string, timeoutMs = 60_000): Promise<ImageDetail> => waitForFinalWith(apiUrl, id, { timeoutMs, intervalMs: 100, fetchJson: checked });

describe('workflow over the local stack', { timeout: 600_000 }, () => {
  const workDir = mkdtempSync(join(tmpdir(), 'imageprocessingapi-e2e-'));
  const dataDir = join(workDir, 'data');
  let stack: RunningStack;
  let captions: FakeCaptionServer;
  let s3: S3Client;
  const uploaded = new Map<string, { id: string; name: string; size: number }>();

  before(async () => {
    captions = await startFakeCaptionServer({ text: 'a photo taken with a camera' });
    stack = await startStack({ dataDir, env: { CAPTION_ENDPOINT_URL: captions.url, CAPTION_TIMEOUT_MS: '2000', CAPTION_RETRY_DELAY_SECONDS: '1' } });
    s3 = new S3Client({ region: 'us-east-1', endpoint: stack.emulatorUrl, forcePathStyle: true, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    api = createResponseValidator((await (await fetch(`${stack.apiUrl}/api/openapi.json`)).json()) as Record<string, unknown>);
  });

  after(async () => {
    if (process.env.E2E_DEBUG) console.log(stack?.output());
    await stack?.stop();
    await captions?.close();
    s3?.destroy();
    rmSync(workDir, { recursive: true, force: true });
  });

  test('curl workflow of the specification: upload answers 202 queued with absolute thumbnail URLs', async () => {
    copyFileSync(join(SAMPLE_IMAGES_DIR, 'gps/DSCN0012.jpg'), join(workDir, 'test.jpg'));
    const out = execFileSync('curl', ['-s', '-w', '\n%{http_code}', '-X', 'POST', `${stack.apiUrl}/api/images`, '-F', 'file=@test.jpg'], { cwd: workDir, encoding: 'utf8' });
    const [json, code] = out.trimEnd().split(/\n(?=\d{3}$)/);
    assert.equal(code, '202');
    const body = JSON.parse(json ?? '') as Envelope<ImageDetail>;
    assert.equal(body.status, 'queued');
    assert.equal(body.error, null);
    assert.match(body.data.image_id, UUID);
    assert.equal(body.data.original_name, 'test.jpg');
    assert.equal(body.data.processed_at, null);
    assert.equal(body.data.metadata, null);
    assert.equal(body.data.thumbnails.small, `${stack.apiUrl}/api/images/${body.data.image_id}/thumbnails/small`);
    assert.equal(body.data.thumbnails.medium, `${stack.apiUrl}/api/images/${body.data.image_id}/thumbnails/medium`);
    uploaded.set('test.jpg', { id: body.data.image_id, name: 'test.jpg', size: statSync(join(workDir, 'test.jpg')).size });

    const detail = await waitForFinal(stack.apiUrl, body.data.image_id);
    assert.equal(detail.status, 'success');
    execFileSync('curl', ['-s', '-f', '-o', 'thumb_small.jpg', `${stack.apiUrl}/api/images/${body.data.image_id}/thumbnails/small`], { cwd: workDir });
    execFileSync('curl', ['-s', '-f', '-o', 'thumb_medium.jpg', `${stack.apiUrl}/api/images/${body.data.image_id}/thumbnails/medium`], { cwd: workDir });
    const small = await sharp(join(workDir, 'thumb_small.jpg')).metadata();
    assert.equal(small.format, 'jpeg');
    assert.equal(Math.max(small.width, small.height), 128);
  });

  test('upload of real photos and a PNG: every one ends success with metadata, EXIF, caption and thumbnails', async () => {
    const png = await sharp({ create: { width: 800, height: 300, channels: 4, background: { r: 10, g: 200, b: 30, alpha: 0.5 } } }).png().toBuffer();
    const files: Array<{ name: string; bytes: Buffer }> = [{ name: 'banner.png', bytes: png }];
    for (const path of PHOTOS) files.push({ name: basename(path), bytes: readSample(path) });

    for (const file of files) {
      const res = await upload(stack.apiUrl, file.name, file.bytes);
      assert.equal(res.status, 202, JSON.stringify(res.body));
      assert.equal(res.body.status, 'queued');
      uploaded.set(file.name, { id: res.body.data.image_id, name: file.name, size: file.bytes.length });
    }

    for (const file of files) {
      const entry = uploaded.get(file.name);
      assert.ok(entry);
      const detail = await waitForFinal(stack.apiUrl, entry.id);
      assert.equal(detail.status, 'success', `${file.name}: ${detail.error}`);
      assert.equal(detail.image_id, entry.id);
      assert.equal(detail.original_name, file.name);
      assert.ok(detail.processed_at && !Number.isNaN(Date.parse(detail.processed_at)));
      const source = await sharp(file.bytes).rotate().metadata();
      const displayed = await sharp(await sharp(file.bytes).rotate().toBuffer()).metadata();
      assert.deepEqual(detail.metadata, {
        width: displayed.width,
        height: displayed.height,
        format: file.name.endsWith('.png') ? 'png' : 'jpg',
        size_bytes: file.bytes.length,
      });
      assert.ok(source.width > 0);
      assert.equal(detail.caption, 'a photo taken with a camera');
      assert.equal(detail.caption_status, 'done');
      assert.equal(typeof detail.exif === 'string' || detail.exif === null, true);

      for (const [size, edge] of [['small', 128], ['medium', 512]] as const) {
        const { res, body: bytes } = await api.fetch<Buffer>(detail.thumbnails[size]);
        assert.equal(res.status, 200);
        assert.equal(res.headers.get('content-type'), 'image/jpeg');
        const meta = await sharp(bytes).metadata();
        assert.equal(meta.format, 'jpeg');
        assert.equal(Math.max(meta.width, meta.height), Math.min(edge, Math.max(displayed.width, displayed.height)));
        assert.equal(meta.width >= meta.height, displayed.width >= displayed.height, `${file.name} ${size} orientation`);
        const stored: GetObjectCommandOutput = await s3.send(new GetObjectCommand({ Bucket: stageNames('local').bucket, Key: `thumbnails/${entry.id}/${size}.jpg` }));
        assert.deepEqual(Buffer.from(await stored.Body!.transformToByteArray()), bytes, 'served bytes equal the stored object');
      }
    }

    const canon = await waitForFinal(stack.apiUrl, uploaded.get('Canon_40D.jpg')!.id);
    const exif = JSON.parse(canon.exif ?? 'null') as Record<string, unknown>;
    assert.equal(exif.Make, 'Canon');
    assert.equal(exif.Model, 'Canon EOS 40D');
    assert.match(String(exif.DateTimeOriginal), /^\d{4}:\d{2}:\d{2} \d{2}:\d{2}:\d{2}$/);
    assert.ok(captions.requests.length >= files.length, 'the caption endpoint was called');
  });

  test('list: every upload, newest first, in the envelope', async () => {
    const { status, body } = await getJson<ImageDetail[]>(`${stack.apiUrl}/api/images`);
    assert.equal(status, 200);
    assert.equal(body.status, 'success');
    assert.equal(body.error, null);
    const ids = body.data.map((item) => item.image_id);
    for (const entry of uploaded.values()) assert.ok(ids.includes(entry.id));
    const created = body.data.map((item) => (item as unknown as { created_at: string }).created_at);
    assert.deepEqual(created, [...created].sort().reverse());
    for (const item of body.data) {
      assert.deepEqual(Object.keys(item).sort(), ['created_at', 'image_id', 'original_name', 'processed_at', 'status', 'thumbnails']);
    }
  });

  test('stats: totals, rates and average processing time add up', async () => {
    const { status, body } = await getJson<Record<string, number>>(`${stack.apiUrl}/api/stats`);
    assert.equal(status, 200);
    assert.equal(body.status, 'success');
    assert.equal(body.data.total, uploaded.size);
    assert.equal(body.data.success, uploaded.size);
    assert.equal(body.data.failed, 0);
    assert.equal(body.data.success_rate, 1);
    assert.equal(body.data.failure_rate, 0);
    assert.ok((body.data.avg_processing_time_ms ?? 0) > 0);
  });

  test('errors: unsupported type 415, unknown id 404, bad size 400, missing file 400, in the envelope', async () => {
    const gif = Buffer.from('GIF89a\x01\x00\x01\x00\x00\x00\x00;', 'latin1');
    const heif = readSample('heic/samplefilehub.heif');
    for (const [name, bytes] of [['fake.jpg', gif], ['photo.heif', heif], ['page.png', Buffer.from('<html></html>')]] as const) {
      const res = await upload(stack.apiUrl, name, bytes, 'image/jpeg');
      assert.equal(res.status, 415, name);
      assert.deepEqual(res.body, { status: 'error', data: null, error: 'Unsupported file type. Use JPG or PNG.' });
    }
    const unknown = await getJson(`${stack.apiUrl}/api/images/00000000-0000-4000-8000-000000000000`);
    assert.equal(unknown.status, 404);
    assert.deepEqual(unknown.body, { status: 'error', data: null, error: 'Image not found' });
    const notUuid = await getJson(`${stack.apiUrl}/api/images/not-an-id`);
    assert.equal(notUuid.status, 404);
    const thumbUnknown = await getJson(`${stack.apiUrl}/api/images/00000000-0000-4000-8000-000000000000/thumbnails/small`);
    assert.equal(thumbUnknown.status, 404);
    const badSize = await getJson(`${stack.apiUrl}/api/images/${uploaded.get('test.jpg')!.id}/thumbnails/large`);
    assert.equal(badSize.status, 400);
    assert.equal(badSize.body.status, 'error');
    const form = new FormData();
    form.append('other', 'x');
    const noFile = await api.fetch<Envelope<null>>(`${stack.apiUrl}/api/images`, { method: 'POST', body: form });
    assert.equal(noFile.status, 400);
    assert.equal(noFile.body.status, 'error');
    const notMultipart = await api.fetch(`${stack.apiUrl}/api/images`, { method: 'POST', body: 'hello', headers: { 'content-type': 'text/plain' } });
    assert.equal(notMultipart.status, 400);
  });

  test('caption endpoint answering 503: the image succeeds at once, the caption arrives later without redoing thumbnails', async () => {
    captions.setBehaviour({ kind: 'status', status: 503, body: { error: 'Model is loading' } });
    const res = await upload(stack.apiUrl, 'Nikon_D70.jpg', readSample('cameras/Nikon_D70.jpg'));
    assert.equal(res.status, 202);
    const detail = await waitForFinal(stack.apiUrl, res.body.data.image_id);
    assert.equal(detail.status, 'success');
    assert.equal(detail.caption, null);
    assert.equal(detail.caption_status, 'pending');
    assert.ok(detail.metadata);
    uploaded.set('Nikon_D70.jpg', { id: detail.image_id, name: 'Nikon_D70.jpg', size: 0 });

    captions.setBehaviour({ kind: 'caption', text: 'a photo taken with a camera' });
    const deadline = Date.now() + 20_000;
    let later = detail;
    while (later.caption_status === 'pending' && Date.now() < deadline) {
      await sleep(200);
      later = (await getJson<ImageDetail>(`${stack.apiUrl}/api/images/${detail.image_id}`)).body.data;
    }
    assert.equal(later.caption_status, 'done');
    assert.equal(later.caption, 'a photo taken with a camera');
    assert.equal(later.processed_at, detail.processed_at, 'the image was not processed again');
  });

  test('restart: a second start of the stack finds the earlier images', async () => {
    await stack.stop();
    stack = await startStack({ dataDir, env: { CAPTION_ENDPOINT_URL: captions.url } });
    const { body } = await getJson<ImageDetail[]>(`${stack.apiUrl}/api/images`);
    for (const entry of uploaded.values()) assert.ok(body.data.some((item) => item.image_id === entry.id), entry.name);
    const thumb = await api.fetch(`${stack.apiUrl}/api/images/${uploaded.get('test.jpg')!.id}/thumbnails/medium`);
    assert.equal(thumb.status, 200);
  });

  test('every answer above matched the OpenAPI document the stack serves', () => {
    const checked = [...api.checked.keys()];
    for (const route of ['POST /api/images 202', 'POST /api/images 415', 'POST /api/images 400', 'GET /api/images 200', 'GET /api/images/{id} 200', 'GET /api/images/{id} 404', 'GET /api/images/{id}/thumbnails/{size} 200', 'GET /api/images/{id}/thumbnails/{size} 400', 'GET /api/stats 200']) {
      assert.ok(checked.includes(route), `${route} (checked: ${checked.join(', ')})`);
    }
  });
});

function readSample(relPath: string): Buffer {
  return readFileSync(join(SAMPLE_IMAGES_DIR, relPath));
}
