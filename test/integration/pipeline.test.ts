// The processor's lib/ code against real parts: the emulator's S3 and SQS, a
// libSQL file, sharp on real photos, and the real caption client talking to a
// local server that speaks Hugging Face's protocol.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, beforeEach, describe, test } from 'node:test';
import { GetQueueAttributesCommand, PurgeQueueCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { settleDeadLetters } from '../../lib/dead-letters.ts';
import { createCaptioner } from '../../lib/images/caption.ts';
import { processImage, retryCaption } from '../../lib/pipeline.ts';
import type { PipelineDeps } from '../../lib/pipeline.ts';
import { processJobBatch } from '../../lib/process-batch.ts';
import { createImageStorage } from '../../lib/storage.ts';
import { sweepStaleImages } from '../../lib/sweep.ts';
import { uploadImage } from '../../lib/upload-image.ts';
import { createJobQueue } from '../../lib/queue.ts';
import { ServiceUnavailableError } from '../../lib/errors.ts';
import { startFakeCaptionServer } from '../support/fake-caption-server.ts';
import type { FakeCaptionServer } from '../support/fake-caption-server.ts';
import { pipelineDeps, startTestDeps, unreachableClients, uploadDeps } from '../support/real-deps.ts';
import type { TestDeps } from '../support/real-deps.ts';
import { readSample } from '../support/sample-images.ts';

const FIRST = { receiveCount: 1, maxReceiveCount: 3 };
const LAST = { receiveCount: 3, maxReceiveCount: 3 };

describe('pipeline against the emulator and a libSQL file', () => {
  let t: TestDeps;
  let captions: FakeCaptionServer;
  let deps: PipelineDeps;

  before(async () => {
    t = await startTestDeps();
    captions = await startFakeCaptionServer({ text: 'a caption' });
  });
  after(async () => {
    await captions.close();
    await t.close();
  });
  beforeEach(async () => {
    captions.setBehaviour({ kind: 'caption', text: 'a caption' });
    await t.sqs.send(new PurgeQueueCommand({ QueueUrl: t.names.queueUrl }));
    deps = pipelineDeps(t, { captioner: createCaptioner({ mode: 'endpoint', endpointUrl: captions.url, token: undefined, timeoutMs: 500 }), captionRetry: { maxAttempts: 3, baseDelaySeconds: 1 } });
  });

  async function accept(bytes: Buffer, name = 'photo.jpg'): Promise<string> {
    const { record } = await uploadImage(
      uploadDeps(t),
      { filename: name, content: bytes },
    );
    return record.id;
  }

  test('processImage: a real photo → success with metadata, EXIF, caption and both thumbnails stored', async () => {
    const id = await accept(await readSample('cameras/Nikon_D70.jpg'));
    assert.equal(await processImage(deps, id, FIRST), 'success');
    const row = await t.images.find(id);
    assert.equal(row?.status, 'success');
    assert.equal(row?.caption, 'a caption');
    assert.equal(row?.captionStatus, 'done');
    assert.ok(row?.exif?.includes('NIKON'));
    assert.ok(await t.storage.getThumbnail(id, 'small'));
    assert.ok(await t.storage.getThumbnail(id, 'medium'));
  });

  test('processImage: the same job twice in a row → one success, the second skipped, counted once', async () => {
    const before = await t.images.stats();
    const id = await accept(await readSample('gps/DSCN0010.jpg'));
    assert.equal(await processImage(deps, id, FIRST), 'success');
    const first = await t.images.find(id);
    assert.equal(await processImage(deps, id, { receiveCount: 2, maxReceiveCount: 3 }), 'skipped');
    assert.deepEqual(await t.images.find(id), first, 'a late duplicate leaves the finished row as it was');
    const after = await t.images.stats();
    assert.equal(after.total - before.total, 1);
    assert.equal(after.success - before.success, 1);
  });

  test('processImage: the same job twice at once → exactly one success, one final row', async () => {
    const id = await accept(await readSample('gps/DSCN0012.jpg'));
    const outcomes = await Promise.all([processImage(deps, id, FIRST), processImage(deps, id, FIRST)]);
    assert.deepEqual(outcomes.sort(), ['skipped', 'success']);
    const row = await t.images.find(id);
    assert.equal(row?.status, 'success');
  });

  test('processImage: a failed image is not reopened by a late duplicate', async () => {
    const id = await accept((await readSample('gps/DSCN0021.jpg')).subarray(0, 20_000));
    assert.equal(await processImage(deps, id, FIRST), 'failed');
    assert.equal(await processImage(deps, id, FIRST), 'skipped');
    assert.equal((await t.images.find(id))?.status, 'failed');
  });

  test('processImage: truncated JPEG → failed at once with a readable reason', async () => {
    const id = await accept((await readSample('gps/DSCN0025.jpg')).subarray(0, 30_000));
    assert.equal(await processImage(deps, id, FIRST), 'failed');
    const row = await t.images.find(id);
    assert.equal(row?.status, 'failed');
    assert.match(row?.error ?? '', /corrupt or truncated/i);
  });

  test('processImage: original missing from S3 → failed with that reason', async () => {
    const id = await accept(await readSample('cameras/Canon_40D.jpg'));
    const row = await t.images.find(id);
    assert.ok(row);
    const { DeleteObjectCommand } = await import('@aws-sdk/client-s3');
    await t.s3.send(new DeleteObjectCommand({ Bucket: t.names.bucket, Key: row.originalKey }));
    assert.equal(await processImage(deps, id, FIRST), 'failed');
    assert.equal((await t.images.find(id))?.error, 'Original image is missing from storage');
  });

  test('processImage: unknown image id → skipped, nothing written', async () => {
    assert.equal(await processImage(deps, randomUUID(), FIRST), 'skipped');
  });

  test('processImage: S3 unreachable → rethrown for a retry, row back to queued with the error; on the last delivery → failed, transient', async () => {
    const id = await accept(await readSample('cameras/Pentax_K10D.jpg'));
    const broken = { ...deps, storage: createImageStorage(unreachableClients().s3, t.names.bucket) };
    await assert.rejects(processImage(broken, id, FIRST));
    const during = await t.images.find(id);
    assert.equal(during?.status, 'queued');
    assert.equal(during?.leaseToken, null, 'the lease is released for the next delivery');
    assert.ok(during?.errorDetail, 'the raw error is kept for the operator');
    assert.equal(during?.error, null, 'nothing of it is served while the image waits for its next delivery');
    assert.equal(await processImage(broken, id, LAST), 'failed');
    const failed = await t.images.find(id);
    assert.match(failed?.error ?? '', /^Processing failed after 3 attempts: .*POST \/api\/images\/[0-9a-f-]+\/reprocess/);
    assert.equal(failed?.failureKind, 'transient');
  });

  test('processImage: caption service 503 → image success, caption pending, a delayed caption job queued', async () => {
    captions.setBehaviour({ kind: 'status', status: 503, body: { error: 'Model is loading' } });
    const id = await accept(await readSample('cameras/Sony_HDR-HC3.jpg'));
    assert.equal(await processImage(deps, id, FIRST), 'success');
    const row = await t.images.find(id);
    assert.equal(row?.status, 'success');
    assert.equal(row?.caption, null);
    assert.equal(row?.captionStatus, 'pending');
    assert.equal(row?.captionAttempts, 1);
    const attrs = await t.sqs.send(new GetQueueAttributesCommand({ QueueUrl: t.names.queueUrl, AttributeNames: ['ApproximateNumberOfMessagesDelayed'] }));
    assert.ok(Number(attrs.Attributes?.ApproximateNumberOfMessagesDelayed) >= 1, 'caption retry is delayed');

    captions.setBehaviour({ kind: 'caption', text: 'a later caption' });
    assert.equal(await retryCaption(deps, id, FIRST), 'success');
    const done = await t.images.find(id);
    assert.equal(done?.caption, 'a later caption');
    assert.equal(done?.captionStatus, 'done');
    assert.equal(done?.captionAttempts, 2);
    assert.equal(done?.processingTimeMs, row?.processingTimeMs, 'thumbnails were not redone');
    assert.equal(await retryCaption(deps, id, FIRST), 'skipped', 'a duplicate caption job changes nothing');
  });

  test('retryCaption: the caption service keeps failing → caption failed after maxAttempts, image still success', async () => {
    captions.setBehaviour({ kind: 'status', status: 429, body: { error: 'rate limited' } });
    const id = await accept(await readSample('cameras/Olympus_C8080WZ.jpg'));
    assert.equal(await processImage(deps, id, FIRST), 'success');
    assert.equal((await t.images.find(id))?.captionStatus, 'pending');
    captions.setBehaviour({ kind: 'hang' });
    assert.equal(await retryCaption(deps, id, FIRST), 'skipped');
    assert.equal((await t.images.find(id))?.captionStatus, 'pending');
    captions.setBehaviour({ kind: 'status', status: 503 });
    assert.equal(await retryCaption(deps, id, FIRST), 'failed');
    const row = await t.images.find(id);
    assert.equal(row?.status, 'success');
    assert.equal(row?.captionStatus, 'failed');
    assert.equal(row?.captionAttempts, 3);
  });

  test('processImage: caption service answers 400 → caption failed at once, no retry queued', async () => {
    captions.setBehaviour({ kind: 'status', status: 400, body: { error: 'bad input' } });
    const id = await accept(await readSample('cameras/Ricoh_Caplio_RR330.jpg'));
    assert.equal(await processImage(deps, id, FIRST), 'success');
    assert.equal((await t.images.find(id))?.captionStatus, 'failed');
  });

  test('processImage: caption endpoint unreachable → image success, caption pending', async () => {
    const gone = { ...deps, captioner: createCaptioner({ mode: 'endpoint', endpointUrl: 'http://127.0.0.1:9', token: undefined, timeoutMs: 500 }) };
    const id = await accept(await readSample('cameras/Kodak_CX7530.jpg'));
    assert.equal(await processImage(gone, id, FIRST), 'success');
    assert.equal((await t.images.find(id))?.captionStatus, 'pending');
  });

  test('processJobBatch: good, malformed and transiently failing records → only the transient one reported', async () => {
    const good = await accept(await readSample('cameras/Canon_PowerShot_S40.jpg'));
    const flaky = await accept(await readSample('cameras/Nikon_COOLPIX_P1.jpg'));
    const broken = { ...deps, storage: { ...deps.storage, getOriginal: async (key: string) => (key.includes(flaky) ? Promise.reject(new Error('S3 throttled')) : deps.storage.getOriginal(key)) } };
    const records = [sqsRecord('m-good', { imageId: good }), sqsRecord('m-bad', 'not json'), sqsRecord('m-flaky', { imageId: flaky })];
    const response = await processJobBatch(broken, records, { concurrency: 2, maxReceiveCount: 3 });
    assert.deepEqual(response.batchItemFailures, [{ itemIdentifier: 'm-flaky' }]);
    assert.equal((await t.images.find(good))?.status, 'success');
    assert.equal((await t.images.find(flaky))?.status, 'queued');
  });

  test('settleDeadLetters: a dead-lettered job → its processing row failed with the last error', async () => {
    const id = await accept(await readSample('cameras/Panasonic_DMC-FZ30.jpg'));
    const claim = await t.lifecycle.claim(id, { messageId: 'm1', receiveCount: 3 });
    assert.equal(claim.outcome, 'claimed');
    if (claim.outcome === 'claimed') await t.lifecycle.release(id, claim.token, 'connect ECONNREFUSED');
    const response = await settleDeadLetters({ lifecycle: t.lifecycle, queue: t.queue, logger: t.logger, maxReceiveCount: 3 }, [sqsRecord('d1', { imageId: id, kind: 'process' })]);
    assert.deepEqual(response.batchItemFailures, []);
    const row = await t.images.find(id);
    assert.equal(row?.status, 'failed');
    assert.equal(row?.failureKind, 'transient');
    // People get a sentence; the raw error stays in error_detail, which is never served.
    assert.match(row?.error ?? '', /^Processing failed after 3 attempts: a service it depends on \(storage, the job queue or the database\) was unavailable\. .*reprocess\.$/);
    assert.doesNotMatch(row?.error ?? '', /ECONNREFUSED/);
    assert.equal(row?.errorDetail, 'connect ECONNREFUSED');
  });

  test('sweepStaleImages: queued row whose send was never confirmed → sent again; abandoned processing row → failed', async () => {
    await t.sqs.send(new PurgeQueueCommand({ QueueUrl: t.names.queueUrl }));
    const queued = await accept(await readSample('cameras/Fujifilm_FinePix_E500.jpg'));
    // As if the upload had stopped between recording the row and confirming the send.
    await t.db.execute({ sql: 'UPDATE images SET job_sent_at = NULL WHERE id = ?', args: [queued] });
    const stuck = await accept(await readSample('cameras/Samsung_Digimax_i50_MP3.jpg'));
    await t.lifecycle.claim(stuck, { messageId: 'm-stuck', receiveCount: 1 });
    await drain(t);
    const result = await sweepStaleImages(
      { images: t.images, lifecycle: t.lifecycle, queue: t.queue, storage: t.storage, logger: t.logger },
      { now: new Date(Date.now() + 3_600_000), staleQueuedSeconds: 60, staleProcessingSeconds: 1800 },
    );
    assert.ok(result.resent >= 1 && result.failed >= 1);
    const bodies = (await drain(t)).map((body) => JSON.parse(body) as { imageId: string });
    assert.ok(bodies.some((job) => job.imageId === queued));
    assert.equal((await t.images.find(stuck))?.status, 'failed');
    assert.match((await t.images.find(stuck))?.error ?? '', /did not finish/);
  });

  test('uploadImage: queue unreachable → 503 and no row left behind', async () => {
    const before = await t.images.stats();
    const deadQueue = createJobQueue(unreachableClients().sqs, t.names.queueUrl);
    await assert.rejects(
      uploadImage(uploadDeps(t, { queue: deadQueue, maxUploadBytes: 1 << 24 }), { filename: 'a.jpg', content: await readSample('cameras/Canon_40D.jpg') }),
      (error: unknown) => error instanceof ServiceUnavailableError && error.statusCode === 503,
    );
    assert.equal((await t.images.stats()).total, before.total);
  });

  test('uploadImage: storage unreachable → 503 and no row', async () => {
    const before = await t.images.stats();
    const deadStorage = createImageStorage(unreachableClients().s3, t.names.bucket);
    await assert.rejects(
      uploadImage(uploadDeps(t, { storage: deadStorage, maxUploadBytes: 1 << 24 }), { filename: 'a.jpg', content: await readSample('cameras/Canon_40D.jpg') }),
      ServiceUnavailableError,
    );
    assert.equal((await t.images.stats()).total, before.total);
  });
});

function sqsRecord(messageId: string, body: unknown): SQSRecord {
  return {
    messageId,
    receiptHandle: messageId,
    body: typeof body === 'string' ? body : JSON.stringify(body),
    attributes: { ApproximateReceiveCount: '1', SentTimestamp: '0', SenderId: 'test', ApproximateFirstReceiveTimestamp: '0' },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:test',
    awsRegion: 'us-east-1',
  };
}

async function drain(t: TestDeps): Promise<string[]> {
  const bodies: string[] = [];
  for (;;) {
    const res = await t.sqs.send(new ReceiveMessageCommand({ QueueUrl: t.names.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
    const messages = res.Messages ?? [];
    if (messages.length === 0) return bodies;
    for (const message of messages) bodies.push(message.Body ?? '');
  }
}
