// Direct uploads through lib/ against real parts: the emulator's S3 and SQS,
// the local upload gateway in front of it (which sends the bucket's
// notification as S3 does), a libSQL file and sharp. A controllable clock
// stands in for the passing of an upload URL's lifetime.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, beforeEach, describe, test } from 'node:test';
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { PurgeQueueCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { aggregateStats } from '../../lib/db/images-repository.ts';
import { parseDirectUploadRequest, requestDirectUpload } from '../../lib/direct-upload.ts';
import type { DirectUploadDeps, UploadForm } from '../../lib/direct-upload.ts';
import { BadRequestError, PayloadTooLargeError, UnsupportedTypeError } from '../../lib/errors.ts';
import { listImages } from '../../lib/image-queries.ts';
import { createImageLifecycle } from '../../lib/image-lifecycle.ts';
import type { ImageLifecycle } from '../../lib/image-lifecycle.ts';
import type { PipelineDeps } from '../../lib/pipeline.ts';
import { processJobBatch } from '../../lib/process-batch.ts';
import { parseJobs } from '../../lib/queue.ts';
import { sweepStaleImages } from '../../lib/sweep.ts';
import { createUploadSigner } from '../../lib/upload-signer.ts';
import { startUploadGateway } from '../../local/upload-gateway.ts';
import type { UploadGateway } from '../../local/upload-gateway.ts';
import { pipelineDeps, startTestDeps } from '../support/real-deps.ts';
import type { TestDeps } from '../support/real-deps.ts';
import { readSample } from '../support/sample-images.ts';

const TTL_SECONDS = 900;
const GRACE_SECONDS = 600;
const MAX_BYTES = 1024 * 1024;
const PDF = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');

describe('direct uploads: request, land, check, process, expire', () => {
  let t: TestDeps;
  let gateway: UploadGateway;
  let clock: number;
  let lifecycle: ImageLifecycle;
  let uploads: DirectUploadDeps;
  let pipeline: PipelineDeps;

  before(async () => {
    t = await startTestDeps();
    gateway = await startUploadGateway({
      port: 0,
      emulatorUrl: t.endpoint,
      region: 'us-east-1',
      bucket: t.names.bucket,
      queueUrl: t.names.queueUrl,
      allowedOrigins: ['http://localhost:8000'],
    });
  });
  after(async () => {
    await gateway.stop();
    await t.close();
  });
  beforeEach(async () => {
    await t.sqs.send(new PurgeQueueCommand({ QueueUrl: t.names.queueUrl }));
    clock = Date.now();
    lifecycle = createImageLifecycle(t.images, { leaseSeconds: 30, uploadGraceSeconds: GRACE_SECONDS, now: () => new Date(clock) });
    uploads = {
      lifecycle,
      signer: createUploadSigner(t.s3, t.names.bucket, { uploadEndpoint: gateway.url }),
      logger: t.logger,
      maxBytes: MAX_BYTES,
      urlTtlSeconds: TTL_SECONDS,
    };
    pipeline = pipelineDeps(t, { lifecycle, maxDirectUploadBytes: MAX_BYTES });
  });

  /** The browser's part: every field, then the file last. */
  async function post(form: UploadForm, bytes: Uint8Array, type = 'image/jpeg'): Promise<Response> {
    const body = new FormData();
    for (const [name, value] of Object.entries(form.fields)) body.append(name, value);
    body.append('file', new Blob([bytes], { type }), 'photo.jpg');
    return fetch(form.url, { method: 'POST', body });
  }

  /** What the event source would hand the processor: the messages on the job queue. */
  async function receive(): Promise<SQSRecord[]> {
    const res = await t.sqs.send(new ReceiveMessageCommand({ QueueUrl: t.names.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageSystemAttributeNames: ['All'] }));
    return (res.Messages ?? []).map((m) => ({
      messageId: m.MessageId ?? '',
      receiptHandle: m.ReceiptHandle ?? '',
      body: m.Body ?? '',
      attributes: { ApproximateReceiveCount: m.Attributes?.ApproximateReceiveCount ?? '1', SentTimestamp: '0', SenderId: 'x', ApproximateFirstReceiveTimestamp: '0' },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: `arn:aws:sqs:us-east-1:000000000000:${t.names.queue}`,
      awsRegion: 'us-east-1',
    }));
  }

  async function exists(key: string): Promise<boolean> {
    try {
      await t.s3.send(new HeadObjectCommand({ Bucket: t.names.bucket, Key: key }));
      return true;
    } catch {
      return false;
    }
  }

  async function deliver(): Promise<SQSRecord[]> {
    const records = await receive();
    const result = await processJobBatch(pipeline, records, { concurrency: 2, maxReceiveCount: 3 });
    assert.deepEqual(result.batchItemFailures, []);
    return records;
  }

  test('requestDirectUpload: an awaiting_upload row and a POST form for exactly uploads/<id>, the declared size and type, until the expiry', async () => {
    const photo = await readSample('cameras/Canon_40D.jpg');
    const { record, upload } = await requestDirectUpload(uploads, { filename: 'IMG_0042.jpg', size_bytes: photo.length, content_type: 'image/jpeg' });
    assert.equal(record.status, 'awaiting_upload');
    assert.equal(record.originalKey, `uploads/${record.id}`);
    assert.equal(record.sizeBytes, photo.length);
    assert.equal(record.originalName, 'IMG_0042.jpg');
    assert.equal(upload.method, 'POST');
    assert.equal(upload.url, `${gateway.url}/${t.names.bucket}`);
    assert.equal(upload.maxBytes, photo.length);
    assert.equal(upload.fields.key, record.originalKey);
    assert.equal(upload.fields['Content-Type'], 'image/jpeg');
    const expiresIn = Date.parse(upload.expiresAt) - Date.now();
    assert.ok(expiresIn > (TTL_SECONDS - 5) * 1000 && expiresIn <= TTL_SECONDS * 1000, `expires in ${expiresIn} ms`);
    const policy = JSON.parse(Buffer.from(upload.fields.Policy ?? '', 'base64').toString('utf8')) as { expiration: string; conditions: unknown[] };
    assert.ok(Math.abs(Date.parse(policy.expiration) - Date.parse(upload.expiresAt)) < 2000);
    assert.deepEqual(
      policy.conditions.filter((c) => JSON.stringify(c).includes('content-length-range') || JSON.stringify(c).includes('"key"') || JSON.stringify(c).includes('Content-Type')),
      [['content-length-range', photo.length, photo.length], { 'Content-Type': 'image/jpeg' }, { key: record.originalKey }],
    );
    assert.ok(upload.fields['X-Amz-Signature'] && upload.fields['X-Amz-Credential']);
  });

  test('parseDirectUploadRequest: bad body 400, declared size over the limit 413, other types 415 with the seed\'s message', () => {
    for (const body of [null, [], 'x', {}, { filename: 'a.jpg', content_type: 'image/jpeg' }, { filename: '', size_bytes: 1, content_type: 'image/jpeg' }, { filename: 'a.jpg', size_bytes: 1.5, content_type: 'image/jpeg' }, { filename: 'a.jpg', size_bytes: 0, content_type: 'image/jpeg' }, { filename: 'a.jpg', size_bytes: '10', content_type: 'image/jpeg' }, { filename: 'a.jpg', size_bytes: 10 }]) {
      assert.throws(() => parseDirectUploadRequest(body, MAX_BYTES), BadRequestError, JSON.stringify(body));
    }
    assert.throws(() => parseDirectUploadRequest({ filename: 'a.jpg', size_bytes: MAX_BYTES + 1, content_type: 'image/jpeg' }, MAX_BYTES), (e: unknown) => e instanceof PayloadTooLargeError && e.message === 'File too large. The limit is 1 MB.');
    for (const type of ['image/heic', 'application/pdf', 'image/gif', 'text/html']) {
      assert.throws(() => parseDirectUploadRequest({ filename: 'a.jpg', size_bytes: 10, content_type: type }, MAX_BYTES), (e: unknown) => e instanceof UnsupportedTypeError && e.message === 'Unsupported file type. Use JPG or PNG.');
    }
    assert.equal(parseDirectUploadRequest({ filename: 'a.png', size_bytes: 10, content_type: ' IMAGE/PNG ' }, MAX_BYTES).contentType, 'image/png');
  });

  test('awaiting rows: not counted in stats, not listed by default, listed with status=awaiting_upload; counted once the object lands', async () => {
    const statsBefore = await t.images.stats();
    const photo = await readSample('cameras/Nikon_D70.jpg');
    const { record, upload } = await requestDirectUpload(uploads, { filename: 'n.jpg', size_bytes: photo.length, content_type: 'image/jpeg' });
    assert.deepEqual(await t.images.stats(), statsBefore);
    assert.deepEqual(await aggregateStats(t.db), statsBefore);
    assert.ok(!(await listImages(t.images, { limit: '1000' })).items.some((item) => item.id === record.id));
    const awaiting = await listImages(t.images, { status: 'awaiting_upload' });
    assert.ok(awaiting.items.some((item) => item.id === record.id && item.status === 'awaiting_upload'));

    assert.equal((await post(upload, photo)).status, 204);
    await deliver();
    const after = await t.images.stats();
    assert.equal(after.total, statsBefore.total + 1);
    assert.equal(after.success, statsBefore.success + 1);
    assert.deepEqual(await aggregateStats(t.db), after);
  });

  test('POST through the gateway → S3 event notification on the job queue → landed, processed to success in that delivery; thumbnails stored', async () => {
    const photo = await readSample('cameras/Canon_40D.jpg');
    const { record, upload } = await requestDirectUpload(uploads, { filename: 'canon.jpg', size_bytes: photo.length, content_type: 'image/jpeg' });
    const res = await post(upload, photo);
    assert.equal(res.status, 204, await res.text());
    assert.ok(res.headers.get('etag'));
    const records = await receive();
    assert.equal(records.length, 1);
    const event = JSON.parse(records[0]?.body ?? '') as { Records: Array<{ eventSource: string; eventName: string; s3: { bucket: { name: string }; object: { key: string; size: number } } }> };
    assert.equal(event.Records[0]?.eventSource, 'aws:s3');
    assert.equal(event.Records[0]?.eventName, 'ObjectCreated:Post');
    assert.equal(event.Records[0]?.s3.bucket.name, t.names.bucket);
    assert.equal(event.Records[0]?.s3.object.key, record.originalKey);
    assert.equal(event.Records[0]?.s3.object.size, photo.length);
    assert.deepEqual(parseJobs(records[0]?.body ?? ''), [{ imageId: record.id, kind: 'landed', object: { key: record.originalKey, sizeBytes: photo.length } }]);

    const result = await processJobBatch(pipeline, records, { concurrency: 2, maxReceiveCount: 3 });
    assert.deepEqual(result.batchItemFailures, []);
    const row = await t.images.find(record.id);
    assert.equal(row?.status, 'success', row?.error ?? '');
    assert.equal(row?.width, 100);
    assert.ok(row?.jobSentAt, 'the notification was the job');
    assert.ok(await t.storage.getThumbnail(record.id, 'small'));
    assert.ok(await exists(record.originalKey), 'the original stays for a reprocess');

    // The same notification delivered again: nothing is done twice.
    const again = await processJobBatch(pipeline, records, { concurrency: 1, maxReceiveCount: 3 });
    assert.deepEqual(again.batchItemFailures, []);
    assert.equal((await t.images.find(record.id))?.attempts, 1);
  });

  const rejections: Array<{ name: string; declared: (bytes: Buffer) => number; body: () => Promise<Buffer>; reason: RegExp }> = [
    {
      name: 'a body larger than declared',
      declared: () => 1000,
      body: () => readSample('cameras/Canon_40D.jpg'),
      reason: /^The uploaded file is \d+ bytes, not the 1000 bytes declared/,
    },
    {
      name: 'a body smaller than declared',
      declared: (bytes) => bytes.length + 10,
      body: () => readSample('cameras/Canon_40D.jpg'),
      reason: /bytes, not the \d+ bytes declared/,
    },
    {
      name: 'a body over the limit',
      declared: () => MAX_BYTES,
      body: async () => Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(MAX_BYTES + 10)]),
      reason: /^File too large\. The limit is 1 MB\.$/,
    },
    {
      name: 'a PDF sent as image/jpeg',
      declared: (bytes) => bytes.length,
      body: async () => PDF,
      reason: /^Unsupported file type\. Use JPG or PNG\.$/,
    },
  ];
  for (const rejection of rejections) {
    test(`check before decode: ${rejection.name} → failed (permanent) with a clear reason, the object deleted`, async () => {
      const bytes = await rejection.body();
      const { record, upload } = await requestDirectUpload(uploads, { filename: 'x.jpg', size_bytes: rejection.declared(bytes), content_type: 'image/jpeg' });
      assert.equal((await post(upload, bytes)).status, 204, 'the store checks no policy');
      await deliver();
      const row = await t.images.find(record.id);
      assert.equal(row?.status, 'failed');
      assert.equal(row?.failureKind, 'permanent');
      assert.match(row?.error ?? '', rejection.reason);
      assert.equal(await exists(record.originalKey), false, 'the refused object is gone');
    });
  }

  test('an object landing after expiry + grace: the row is removed and the object deleted', async () => {
    const photo = await readSample('cameras/Nikon_D70.jpg');
    const { record, upload } = await requestDirectUpload(uploads, { filename: 'late.jpg', size_bytes: photo.length, content_type: 'image/jpeg' });
    clock += (TTL_SECONDS + GRACE_SECONDS + 1) * 1000;
    assert.equal((await post(upload, photo)).status, 204);
    await deliver();
    assert.equal(await t.images.find(record.id), null);
    assert.equal(await exists(record.originalKey), false);
  });

  test('an object for no row (unknown id under uploads/) is deleted; a key that is not an upload is dropped as unprocessable', async () => {
    const key = `uploads/${randomUUID()}`;
    await t.s3.send(new PutObjectCommand({ Bucket: t.names.bucket, Key: key, Body: PDF }));
    const event = { Records: [{ eventVersion: '2.1', eventSource: 'aws:s3', eventName: 'ObjectCreated:Put', s3: { bucket: { name: t.names.bucket }, object: { key, size: PDF.length } } }] };
    await t.sqs.send(new SendMessageCommand({ QueueUrl: t.names.queueUrl, MessageBody: JSON.stringify(event) }));
    await deliver();
    assert.equal(await exists(key), false);

    const stray = { Records: [{ eventSource: 'aws:s3', eventName: 'ObjectCreated:Put', s3: { object: { key: 'uploads/not-an-id', size: 1 } } }] };
    assert.throws(() => parseJobs(JSON.stringify(stray)), /not a direct upload/);
  });

  test('the s3:TestEvent S3 sends when the notification is configured: acknowledged, nothing done', async () => {
    const body = JSON.stringify({ Service: 'Amazon S3', Event: 's3:TestEvent', Time: new Date().toISOString(), Bucket: t.names.bucket, RequestId: 'r', HostId: 'h' });
    assert.deepEqual(parseJobs(body), []);
    await t.sqs.send(new SendMessageCommand({ QueueUrl: t.names.queueUrl, MessageBody: body }));
    assert.equal((await deliver()).length, 1);
  });

  test('sweeper: an upload never made is removed after expiry + grace; one whose notification was lost is landed, sent and then processed', async () => {
    const photo = await readSample('cameras/Canon_40D.jpg');
    const unused = await requestDirectUpload(uploads, { filename: 'unused.jpg', size_bytes: 10, content_type: 'image/jpeg' });
    const lost = await requestDirectUpload(uploads, { filename: 'lost.jpg', size_bytes: photo.length, content_type: 'image/jpeg' });
    // Stored without the gateway: no notification.
    await t.s3.send(new PutObjectCommand({ Bucket: t.names.bucket, Key: lost.record.originalKey, Body: photo }));
    const sweep = (): ReturnType<typeof sweepStaleImages> =>
      sweepStaleImages(
        { images: t.images, lifecycle, queue: t.queue, storage: t.storage, logger: t.logger },
        { now: new Date(clock), staleQueuedSeconds: 3600, staleProcessingSeconds: 3600, uploadGraceSeconds: GRACE_SECONDS },
      );
    clock += (TTL_SECONDS + GRACE_SECONDS - 5) * 1000;
    await sweep();
    for (const { record } of [unused, lost]) assert.equal((await t.images.find(record.id))?.status, 'awaiting_upload', 'within the grace period nothing is touched');
    clock += 10_000;
    // Earlier tests' unused uploads expire too.
    const result = await sweep();
    assert.ok(result.uploadsExpired >= 1);
    assert.equal(result.uploadsLanded, 1);
    assert.equal(await t.images.find(unused.record.id), null);
    const landed = await t.images.find(lost.record.id);
    assert.equal(landed?.status, 'queued');
    assert.ok(landed?.jobSentAt);
    await deliver();
    assert.equal((await t.images.find(lost.record.id))?.status, 'success');
  });

  test('gateway: CORS preflight answered for a listed origin, refused for another; the POST carries the CORS headers', async () => {
    const preflight = await fetch(`${gateway.url}/${t.names.bucket}`, {
      method: 'OPTIONS',
      headers: { origin: 'http://localhost:8000', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });
    assert.equal(preflight.status, 200);
    assert.equal(preflight.headers.get('access-control-allow-origin'), 'http://localhost:8000');
    assert.equal(preflight.headers.get('access-control-allow-methods'), 'POST');
    assert.equal(preflight.headers.get('access-control-allow-headers'), 'content-type');
    const other = await fetch(`${gateway.url}/${t.names.bucket}`, { method: 'OPTIONS', headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST' } });
    assert.equal(other.status, 403);
    assert.equal(other.headers.get('access-control-allow-origin'), null);

    const photo = await readSample('cameras/Nikon_D70.jpg');
    const { upload } = await requestDirectUpload(uploads, { filename: 'n.jpg', size_bytes: photo.length, content_type: 'image/jpeg' });
    const body = new FormData();
    for (const [name, value] of Object.entries(upload.fields)) body.append(name, value);
    body.append('file', new Blob([photo]), 'n.jpg');
    const res = await fetch(upload.url, { method: 'POST', body, headers: { origin: 'http://localhost:8000' } });
    assert.equal(res.status, 204);
    assert.equal(res.headers.get('access-control-allow-origin'), 'http://localhost:8000');
    await deliver();
  });

  test('gateway: a form without key, or without a file, is refused as S3 refuses it; nothing stored', async () => {
    const noKey = new FormData();
    noKey.append('Content-Type', 'image/jpeg');
    noKey.append('file', new Blob([PDF]), 'a.jpg');
    const res = await fetch(`${gateway.url}/${t.names.bucket}`, { method: 'POST', body: noKey });
    assert.equal(res.status, 400);
    assert.match(await res.text(), /<Code>InvalidArgument<\/Code>/);
    const noFile = new FormData();
    noFile.append('key', `uploads/${randomUUID()}`);
    const res2 = await fetch(`${gateway.url}/${t.names.bucket}`, { method: 'POST', body: noFile });
    assert.equal(res2.status, 400);
    assert.equal((await receive()).length, 0, 'no notification');
  });

  test('gateway: a POST cut off in the middle of its file (after a first part was stored) leaves no object and sends no notification', async () => {
    const key = `uploads/${randomUUID()}`;
    const boundary = 'cut-off-boundary';
    const head = Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="key"\r\n\r\n${key}\r\n` +
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`,
    );
    const url = new URL(`${gateway.url}/${t.names.bucket}`);
    await new Promise<void>((resolveCut) => {
      const req = request({ host: '127.0.0.1', port: url.port, path: url.pathname, method: 'POST', headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': String(head.length + 20 * 1024 * 1024) } });
      req.on('error', () => resolveCut());
      req.write(head);
      req.write(Buffer.alloc(12 * 1024 * 1024, 3), () => setTimeout(() => {
        req.destroy();
        resolveCut();
      }, 300));
    });
    await sleep(1_000);
    assert.equal(await exists(key), false);
    assert.equal((await receive()).length, 0, 'no notification');
  });

  test('gateway: a body larger than the emulator takes in one request (11 MiB) is stored whole, in parts', async () => {
    const big = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(20 * 1024 * 1024, 7)]);
    const key = `uploads/${randomUUID()}`;
    const body = new FormData();
    body.append('key', key);
    body.append('success_action_status', '201');
    body.append('file', new Blob([big]), 'big.jpg');
    const res = await fetch(`${gateway.url}/${t.names.bucket}`, { method: 'POST', body });
    assert.equal(res.status, 201);
    assert.match(await res.text(), new RegExp(`<Key>${key}</Key>`));
    assert.equal((await t.storage.statObject(key))?.sizeBytes, big.length);
    // No row: the processor deletes it.
    await deliver();
    assert.equal(await exists(key), false);
  });
});
