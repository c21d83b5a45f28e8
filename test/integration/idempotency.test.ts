// Idempotency-Key on uploads, against the real emulator and a libSQL file: a
// retried request answers the first one's image and stores nothing new.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, beforeEach, describe, test } from 'node:test';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, PurgeQueueCommand } from '@aws-sdk/client-sqs';
import { BadRequestError, ServiceUnavailableError, UnprocessableRequestError } from '../../lib/errors.ts';
import { createJobQueue } from '../../lib/queue.ts';
import { uploadImage } from '../../lib/upload-image.ts';
import type { UploadDeps } from '../../lib/upload-image.ts';
import { startTestDeps, unreachableClients, uploadDeps } from '../support/real-deps.ts';
import type { TestDeps } from '../support/real-deps.ts';
import { readSample } from '../support/sample-images.ts';

describe('uploads with an Idempotency-Key', () => {
  let t: TestDeps;
  let deps: UploadDeps;
  let photo: Buffer;
  let other: Buffer;

  before(async () => {
    t = await startTestDeps();
    deps = uploadDeps(t);
    photo = await readSample('cameras/Canon_40D.jpg');
    other = await readSample('cameras/Nikon_D70.jpg');
  });
  after(async () => {
    await t.close();
  });
  beforeEach(async () => {
    await t.sqs.send(new PurgeQueueCommand({ QueueUrl: t.names.queueUrl }));
  });

  async function counts(): Promise<{ rows: number; originals: number; messages: number }> {
    const objects = await t.s3.send(new ListObjectsV2Command({ Bucket: t.names.bucket, Prefix: 'originals/' }));
    const queue = await t.sqs.send(new GetQueueAttributesCommand({ QueueUrl: t.names.queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }));
    return { rows: (await t.images.stats()).total, originals: objects.KeyCount ?? 0, messages: Number(queue.Attributes?.ApproximateNumberOfMessages ?? 0) };
  }

  test('the same key and file twice in a row → the same image, the second stores nothing and sends nothing', async () => {
    const key = randomUUID();
    const first = await uploadImage(deps, { filename: 'a.jpg', content: photo }, { idempotencyKey: key });
    const before = await counts();
    const second = await uploadImage(deps, { filename: 'a.jpg', content: photo }, { idempotencyKey: key });
    assert.equal(first.replayed, false);
    assert.equal(second.replayed, true);
    assert.equal(second.record.id, first.record.id);
    assert.deepEqual(await counts(), before);
  });

  test('the same key and file 5 times at once → one image, one original, one job', async () => {
    const key = randomUUID();
    const before = await counts();
    const results = await Promise.all([0, 1, 2, 3, 4].map(() => uploadImage(deps, { filename: 'b.jpg', content: photo }, { idempotencyKey: key })));
    assert.equal(new Set(results.map((r) => r.record.id)).size, 1);
    assert.equal(results.filter((r) => !r.replayed).length, 1);
    const after = await counts();
    assert.deepEqual({ rows: after.rows - before.rows, originals: after.originals - before.originals, messages: after.messages - before.messages }, { rows: 1, originals: 1, messages: 1 });
  });

  test('the same key with another file, or another name → 422 naming the key; no image stored', async () => {
    const key = randomUUID();
    await uploadImage(deps, { filename: 'c.jpg', content: photo }, { idempotencyKey: key });
    const before = await counts();
    for (const attempt of [{ filename: 'c.jpg', content: other }, { filename: 'renamed.jpg', content: photo }]) {
      await assert.rejects(uploadImage(deps, attempt, { idempotencyKey: key }), (error: unknown) => error instanceof UnprocessableRequestError && error.statusCode === 422 && /Idempotency-Key/.test(error.message));
    }
    assert.deepEqual(await counts(), before);
  });

  test('a key older than 24 h → a new image', async () => {
    const key = randomUUID();
    const first = await uploadImage(deps, { filename: 'd.jpg', content: photo }, { idempotencyKey: key });
    await t.db.execute({ sql: 'UPDATE idempotency_keys SET created_at = ? WHERE key = ?', args: [new Date(Date.now() - 25 * 3_600_000).toISOString(), key] });
    const second = await uploadImage(deps, { filename: 'd.jpg', content: photo }, { idempotencyKey: key });
    assert.notEqual(second.record.id, first.record.id);
    assert.equal(second.replayed, false);
  });

  test('a first request that failed (queue unreachable, 503) → its key is released; the retry with the same key creates the image', async () => {
    const key = randomUUID();
    const down = { ...deps, queue: createJobQueue(unreachableClients().sqs, t.names.queueUrl) };
    await assert.rejects(uploadImage(down, { filename: 'e.jpg', content: photo }, { idempotencyKey: key }), ServiceUnavailableError);
    const retry = await uploadImage(deps, { filename: 'e.jpg', content: photo }, { idempotencyKey: key });
    assert.equal(retry.replayed, false);
    assert.equal((await t.images.find(retry.record.id))?.status, 'queued');
  });

  test('a malformed key (empty, spaces, too long) → 400 before anything is stored', async () => {
    for (const key of ['', 'has space', 'x'.repeat(256)]) {
      await assert.rejects(uploadImage(deps, { filename: 'f.jpg', content: photo }, { idempotencyKey: key }), BadRequestError);
    }
  });
});
