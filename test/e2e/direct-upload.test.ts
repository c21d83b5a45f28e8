// Direct uploads through the real stack that `npm start` runs: POST
// /api/uploads on serverless-offline, the file sent with the presigned POST to
// the upload gateway (which stores it in the embedded emulator and sends the
// bucket's notification, as S3 does on AWS), the processor taking it from the
// job queue. A generated 50 MP JPEG and a real photo end `success`; bodies the
// policy would have refused on S3 (which the local store does not check) are
// refused by the pipeline; URLs used too late, or never, leave nothing behind.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { HeadObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import sharp from 'sharp';
import { RESOURCES, stageNames } from '../../local/resources.ts';
import type { Envelope, ImageDetail } from '../support/api-types.ts';
import { LARGE_JPEG, largeJpegPath } from '../support/large-jpeg.ts';
import { readSample, SAMPLE_IMAGES_DIR } from '../support/sample-images.ts';
import { startStack } from '../support/stack.ts';
import type { RunningStack } from '../support/stack.ts';

const CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };
const MAX_DIRECT_UPLOAD_BYTES = 50 * 1024 * 1024;
const PDF = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');

interface UploadAnswer {
  image_id: string;
  original_name: string;
  status: string;
  created_at: string;
  processed_at: string | null;
  thumbnails: { small: string; medium: string };
  upload: { method: string; url: string; fields: Record<string, string>; expires_at: string; max_bytes: number };
}

interface Session {
  stack: RunningStack;
  s3: S3Client;
  bucket: string;
}

async function requestUpload(stack: RunningStack, body: unknown): Promise<{ status: number; body: Envelope<UploadAnswer> }> {
  const res = await fetch(`${stack.apiUrl}/api/uploads`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Envelope<UploadAnswer> };
}

/** The client's second step: every field of the form, the file last. */
async function sendFile(upload: UploadAnswer['upload'], bytes: Uint8Array, name: string, type: string): Promise<Response> {
  const form = new FormData();
  for (const [field, value] of Object.entries(upload.fields)) form.append(field, value);
  form.append('file', new Blob([bytes], { type }), name);
  return fetch(upload.url, { method: upload.method, body: form });
}

async function detail(stack: RunningStack, id: string): Promise<{ status: number; body: Envelope<ImageDetail> }> {
  const res = await fetch(`${stack.apiUrl}/api/images/${id}`);
  return { status: res.status, body: (await res.json()) as Envelope<ImageDetail> };
}

async function waitForFinal(stack: RunningStack, id: string, timeoutMs = 60_000): Promise<ImageDetail> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { body } = await detail(stack, id);
    if (body.data?.status === 'success' || body.data?.status === 'failed') return body.data;
    if (Date.now() > deadline) throw new Error(`image ${id} still ${body.data?.status} after ${timeoutMs} ms`);
    await sleep(100);
  }
}

async function waitUntilGone(stack: RunningStack, id: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await detail(stack, id)).status !== 404) {
    if (Date.now() > deadline) throw new Error(`image ${id} still there after ${timeoutMs} ms`);
    await sleep(100);
  }
}

async function objectExists(session: Session, key: string): Promise<boolean> {
  try {
    await session.s3.send(new HeadObjectCommand({ Bucket: session.bucket, Key: key }));
    return true;
  } catch {
    return false;
  }
}

async function waitForObjectGone(session: Session, key: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (await objectExists(session, key)) {
    if (Date.now() > deadline) throw new Error(`${key} still in the bucket after ${timeoutMs} ms`);
    await sleep(100);
  }
}

async function uploadKeys(session: Session): Promise<string[]> {
  const res = await session.s3.send(new ListObjectsV2Command({ Bucket: session.bucket, Prefix: 'uploads/' }));
  return (res.Contents ?? []).map((object) => object.Key ?? '').sort();
}

async function openSession(dataDir: string, env: Record<string, string> = {}): Promise<Session> {
  const stack = await startStack({ dataDir, env });
  const s3 = new S3Client({ region: 'us-east-1', endpoint: stack.emulatorUrl, forcePathStyle: true, credentials: CREDENTIALS });
  return { stack, s3, bucket: stageNames('local').bucket };
}

async function closeSession(session: Session | undefined): Promise<void> {
  if (process.env.E2E_DEBUG) console.log(session?.stack.output());
  await session?.stack.stop();
  session?.s3.destroy();
}

describe('direct uploads through the local stack', { timeout: 600_000 }, () => {
  const workDir = mkdtempSync(join(tmpdir(), 'imageprocessingapi-direct-'));
  let session: Session;
  const succeeded: string[] = [];

  before(async () => {
    // Made (or found) before the stack starts: the first time it takes about 15 s of CPU.
    await largeJpegPath();
    session = await openSession(join(workDir, 'data'));
  });
  after(async () => {
    await closeSession(session);
    rmSync(workDir, { recursive: true, force: true });
  });

  test('POST /api/uploads: 201 awaiting_upload with thumbnail URLs and the POST form; bad body 400, over 50 MB 413, not JPEG/PNG 415, in the envelope', async () => {
    const { stack } = session;
    const ok = await requestUpload(stack, { filename: 'IMG_0042.jpg', size_bytes: 12_345_678, content_type: 'image/jpeg' });
    assert.equal(ok.status, 201);
    assert.equal(ok.body.status, 'success');
    assert.equal(ok.body.error, null);
    const data = ok.body.data;
    assert.equal(data.status, 'awaiting_upload');
    assert.equal(data.original_name, 'IMG_0042.jpg');
    assert.equal(data.thumbnails.small, `${stack.apiUrl}/api/images/${data.image_id}/thumbnails/small`);
    assert.equal(data.upload.method, 'POST');
    assert.equal(data.upload.url, `${stack.uploadUrl}/${session.bucket}`);
    assert.equal(data.upload.max_bytes, 12_345_678);
    assert.equal(data.upload.fields.key, `uploads/${data.image_id}`);
    assert.equal(data.upload.fields['Content-Type'], 'image/jpeg');
    assert.ok(Date.parse(data.upload.expires_at) > Date.now() + 800_000, 'UPLOAD_URL_TTL_SECONDS defaults to 900');

    const awaiting = await detail(stack, data.image_id);
    assert.equal(awaiting.status, 200);
    assert.equal(awaiting.body.data.status, 'awaiting_upload');
    assert.equal(awaiting.body.data.metadata, null);

    for (const body of [{}, { filename: 'a.jpg', size_bytes: -1, content_type: 'image/jpeg' }, [1, 2]]) {
      const res = await requestUpload(stack, body);
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.equal(res.body.status, 'error');
      assert.equal(res.body.data, null);
    }
    const notJson = await fetch(`${stack.apiUrl}/api/uploads`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"filename":' });
    assert.equal(notJson.status, 400);
    const big = await requestUpload(stack, { filename: 'a.jpg', size_bytes: MAX_DIRECT_UPLOAD_BYTES + 1, content_type: 'image/jpeg' });
    assert.equal(big.status, 413);
    assert.equal(big.body.error, 'File too large. The limit is 50 MB.');
    const heic = await requestUpload(stack, { filename: 'a.heic', size_bytes: 1000, content_type: 'image/heic' });
    assert.equal(heic.status, 415);
    assert.equal(heic.body.error, 'Unsupported file type. Use JPG or PNG.');
  });

  test("a real photo by the README's two curl steps → success with correct thumbnails; hidden from list and stats while awaited", async () => {
    const { stack } = session;
    copyFileSync(join(SAMPLE_IMAGES_DIR, 'cameras/Canon_40D.jpg'), join(workDir, 'photo.jpg'));
    const statsBefore = ((await (await fetch(`${stack.apiUrl}/api/stats`)).json()) as Envelope<{ total: number }>).data;
    execFileSync(
      'bash',
      [
        '-c',
        `set -euo pipefail
curl -s -X POST "$API/api/uploads" -H 'content-type: application/json' \\
  -d "{\\"filename\\": \\"photo.jpg\\", \\"size_bytes\\": $(wc -c < photo.jpg), \\"content_type\\": \\"image/jpeg\\"}" > upload.json`,
      ],
      { cwd: workDir, env: { ...process.env, API: stack.apiUrl } },
    );
    const answer = JSON.parse(readFileSync(join(workDir, 'upload.json'), 'utf8')) as Envelope<UploadAnswer>;
    const id = answer.data.image_id;
    const listed = async (query: string): Promise<string[]> =>
      ((await (await fetch(`${stack.apiUrl}/api/images${query}`)).json()) as Envelope<Array<{ image_id: string }>>).data.map((item) => item.image_id);
    assert.ok(!(await listed('')).includes(id), 'not listed while awaited');
    assert.ok((await listed('?status=awaiting_upload')).includes(id));
    assert.equal(((await (await fetch(`${stack.apiUrl}/api/stats`)).json()) as Envelope<{ total: number }>).data.total, statsBefore.total);

    const sent = execFileSync(
      'bash',
      [
        '-c',
        `set -euo pipefail
mapfile -t FORM < <(jq -r '.data.upload.fields | to_entries[] | "--form-string", "\\(.key)=\\(.value)"' upload.json)
curl -s -o /dev/null -w '%{http_code}' -X POST "$(jq -r .data.upload.url upload.json)" "\${FORM[@]}" -F "file=@photo.jpg"`,
      ],
      { cwd: workDir, encoding: 'utf8' },
    );
    assert.equal(sent, '204');
    const final = await waitForFinal(stack, id);
    assert.equal(final.status, 'success', final.error ?? '');
    const size = statSync(join(workDir, 'photo.jpg')).size;
    const source = await sharp(join(workDir, 'photo.jpg')).rotate().toBuffer({ resolveWithObject: true });
    assert.deepEqual(final.metadata, { width: source.info.width, height: source.info.height, format: 'jpg', size_bytes: size });
    for (const [which, edge] of [['small', 128], ['medium', 512]] as const) {
      const thumb = await sharp(Buffer.from(await (await fetch(final.thumbnails[which])).arrayBuffer())).metadata();
      assert.equal(thumb.format, 'jpeg');
      assert.equal(Math.max(thumb.width, thumb.height), Math.min(edge, Math.max(source.info.width, source.info.height)));
    }
    assert.ok((await listed('')).includes(id));
    assert.equal(((await (await fetch(`${stack.apiUrl}/api/stats`)).json()) as Envelope<{ total: number }>).data.total, statsBefore.total + 1);
    succeeded.push(id);
  });

  test('a generated 50 MP JPEG of 30-40 MB by the two steps → success, 128 and 512 px thumbnails of its shape', async () => {
    const { stack } = session;
    const bytes = readFileSync(await largeJpegPath());
    assert.ok(bytes.length >= 30e6 && bytes.length <= 40e6, `${(bytes.length / 1e6).toFixed(1)} MB`);
    const created = await requestUpload(stack, { filename: 'DSC_5000.jpg', size_bytes: bytes.length, content_type: 'image/jpeg' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const res = await sendFile(created.body.data.upload, bytes, 'DSC_5000.jpg', 'image/jpeg');
    assert.equal(res.status, 204, await res.text());
    const final = await waitForFinal(stack, created.body.data.image_id, 120_000);
    assert.equal(final.status, 'success', final.error ?? '');
    assert.deepEqual(final.metadata, { width: LARGE_JPEG.width, height: LARGE_JPEG.height, format: 'jpg', size_bytes: bytes.length });
    for (const [which, edge] of [['small', 128], ['medium', 512]] as const) {
      const thumb = await sharp(Buffer.from(await (await fetch(final.thumbnails[which])).arrayBuffer())).metadata();
      assert.equal(thumb.width, edge);
      assert.equal(thumb.height, Math.round((edge * LARGE_JPEG.height) / LARGE_JPEG.width));
    }
    succeeded.push(created.body.data.image_id);
  });

  const refused: Array<{ name: string; declared: number; body: () => Promise<Buffer>; type: string; error: RegExp }> = [
    {
      name: 'an over-size body (50 MB declared, 50 MB + 1 KB sent)',
      declared: MAX_DIRECT_UPLOAD_BYTES,
      body: async () => Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(MAX_DIRECT_UPLOAD_BYTES + 1020, 1)]),
      type: 'image/jpeg',
      error: /^File too large\. The limit is 50 MB\.$/,
    },
    {
      name: 'a body larger than declared',
      declared: 2048,
      body: () => readSample('cameras/Nikon_D70.jpg'),
      type: 'image/jpeg',
      error: /^The uploaded file is \d+ bytes, not the 2048 bytes declared/,
    },
    {
      name: 'a PDF sent as image/jpeg',
      declared: PDF.length,
      body: async () => PDF,
      type: 'image/jpeg',
      error: /^Unsupported file type\. Use JPG or PNG\.$/,
    },
  ];
  for (const attempt of refused) {
    test(`${attempt.name}: accepted by the store (no policy checked locally), then failed by the pipeline with its reason and deleted`, async () => {
      const { stack } = session;
      const created = await requestUpload(stack, { filename: 'upload.jpg', size_bytes: attempt.declared, content_type: attempt.type });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const res = await sendFile(created.body.data.upload, await attempt.body(), 'upload.jpg', attempt.type);
      assert.equal(res.status, 204);
      const final = await waitForFinal(stack, created.body.data.image_id);
      assert.equal(final.status, 'failed');
      assert.match(final.error ?? '', attempt.error);
      assert.equal(final.metadata, null);
      assert.equal(await objectExists(session, `uploads/${created.body.data.image_id}`), false);
    });
  }

  test('the browser path: the upload URL answers a CORS preflight from http://localhost:8000 and its POST carries the CORS headers', async () => {
    const { stack } = session;
    const photo = await readSample('orientation/portrait_6.jpg');
    const created = await requestUpload(stack, { filename: 'p.jpg', size_bytes: photo.length, content_type: 'image/jpeg' });
    const { upload } = created.body.data;
    const preflight = await fetch(upload.url, {
      method: 'OPTIONS',
      headers: { origin: 'http://localhost:8000', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });
    assert.equal(preflight.status, 200);
    assert.equal(preflight.headers.get('access-control-allow-origin'), '*');
    assert.equal(preflight.headers.get('access-control-allow-methods'), 'POST');
    const form = new FormData();
    for (const [field, value] of Object.entries(upload.fields)) form.append(field, value);
    form.append('file', new Blob([photo], { type: 'image/jpeg' }), 'p.jpg');
    const res = await fetch(upload.url, { method: 'POST', body: form, headers: { origin: 'http://localhost:8000' } });
    assert.equal(res.status, 204);
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
    assert.equal((await waitForFinal(stack, created.body.data.image_id)).status, 'success');
    succeeded.push(created.body.data.image_id);
  });

  test('nothing left in the bucket under uploads/ but the originals of the images that succeeded', async () => {
    assert.deepEqual(await uploadKeys(session), succeeded.map((id) => `uploads/${id}`).sort());
  });
});

describe('direct upload URLs used too late, or never', { timeout: 300_000 }, () => {
  const workDir = mkdtempSync(join(tmpdir(), 'imageprocessingapi-direct-expiry-'));
  let session: Session;
  let lambda: LambdaClient;
  const TTL_SECONDS = 1;
  const GRACE_SECONDS = 1;

  before(async () => {
    session = await openSession(join(workDir, 'data'), { UPLOAD_URL_TTL_SECONDS: String(TTL_SECONDS), UPLOAD_EXPIRY_GRACE_SECONDS: String(GRACE_SECONDS) });
    lambda = new LambdaClient({ region: 'us-east-1', endpoint: session.stack.lambdaUrl, credentials: CREDENTIALS, maxAttempts: 1 });
  });
  after(async () => {
    lambda?.destroy();
    await closeSession(session);
    rmSync(workDir, { recursive: true, force: true });
  });

  const pastGrace = (): Promise<void> => sleep((TTL_SECONDS + GRACE_SECONDS) * 1000 + 1_000);

  test('a URL used after its expiry and grace: the row is removed and the object deleted (on S3 the POST itself is refused)', async () => {
    const { stack } = session;
    const photo = await readSample('cameras/Canon_40D.jpg');
    const created = await requestUpload(stack, { filename: 'late.jpg', size_bytes: photo.length, content_type: 'image/jpeg' });
    assert.equal(created.status, 201);
    await pastGrace();
    assert.equal((await sendFile(created.body.data.upload, photo, 'late.jpg', 'image/jpeg')).status, 204);
    const id = created.body.data.image_id;
    await waitUntilGone(stack, id);
    await waitForObjectGone(session, `uploads/${id}`);
  });

  test('a URL never used: the sweeper removes the row after expiry + grace; a file sent with it afterwards is deleted', async () => {
    const { stack } = session;
    const created = await requestUpload(stack, { filename: 'never.jpg', size_bytes: 1000, content_type: 'image/jpeg' });
    const id = created.body.data.image_id;
    await pastGrace();
    const swept = await lambda.send(new InvokeCommand({ FunctionName: `${RESOURCES.service}-local-sweepImages`, Payload: Buffer.from('{}') }));
    assert.equal(swept.FunctionError, undefined, Buffer.from(swept.Payload ?? []).toString('utf8'));
    const result = JSON.parse(Buffer.from(swept.Payload ?? []).toString('utf8')) as { uploadsExpired: number };
    assert.ok(result.uploadsExpired >= 1);
    assert.equal((await detail(stack, id)).status, 404);

    const photo = await readSample('cameras/Nikon_D70.jpg');
    assert.equal((await sendFile(created.body.data.upload, photo, 'never.jpg', 'image/jpeg')).status, 204);
    await waitForObjectGone(session, `uploads/${id}`);
    assert.deepEqual(await uploadKeys(session), []);
  });
});
