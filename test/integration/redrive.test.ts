// Running images again after an outage, against real parts: the redrive takes
// every image that failed for a transient cause and nothing else; reprocess
// takes one failed image of any kind and refuses one being processed.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, beforeEach, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { DeleteMessageCommand, PurgeQueueCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { ConflictError, ImageNotFoundError } from '../../lib/errors.ts';
import { processImage, runJob } from '../../lib/pipeline.ts';
import type { PipelineDeps } from '../../lib/pipeline.ts';
import { createJobQueue, parseJob } from '../../lib/queue.ts';
import type { ProcessImageJob } from '../../lib/queue.ts';
import { redriveFailed, reprocessImage } from '../../lib/reprocess-image.ts';
import type { ReprocessDeps } from '../../lib/reprocess-image.ts';
import { createImageStorage } from '../../lib/storage.ts';
import { uploadImage } from '../../lib/upload-image.ts';
import { pipelineDeps, startTestDeps, unreachableClients, uploadDeps } from '../support/real-deps.ts';
import type { TestDeps } from '../support/real-deps.ts';
import { readSample } from '../support/sample-images.ts';

describe('redrive and reprocess', () => {
  let t: TestDeps;
  let pipeline: PipelineDeps;
  let operator: ReprocessDeps;

  before(async () => {
    t = await startTestDeps();
    pipeline = pipelineDeps(t);
    operator = { images: t.images, lifecycle: t.lifecycle, queue: t.queue, logger: t.logger };
  });
  after(async () => {
    await t.close();
  });
  beforeEach(async () => {
    await t.sqs.send(new PurgeQueueCommand({ QueueUrl: t.names.queueUrl }));
  });

  async function accept(bytes: Buffer): Promise<string> {
    const { record } = await uploadImage(
      uploadDeps(t),
      { filename: 'photo.jpg', content: bytes },
    );
    return record.id;
  }

  /** Every job in the queue, received and deleted. */
  async function drainJobs(): Promise<ProcessImageJob[]> {
    const jobs: ProcessImageJob[] = [];
    for (;;) {
      const res = await t.sqs.send(new ReceiveMessageCommand({ QueueUrl: t.names.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
      const messages = res.Messages ?? [];
      if (messages.length === 0) return jobs;
      for (const message of messages) {
        jobs.push(parseJob(message.Body ?? ''));
        await t.sqs.send(new DeleteMessageCommand({ QueueUrl: t.names.queueUrl, ReceiptHandle: message.ReceiptHandle }));
      }
    }
  }

  /** Every delivery of the image's job meets S3 down: it ends failed, transient. */
  async function failByOutage(id: string): Promise<void> {
    const down = { ...pipeline, storage: createImageStorage(unreachableClients().s3, t.names.bucket) };
    for (let receive = 1; receive < 3; receive++) await assert.rejects(processImage(down, id, { messageId: 'm', receiveCount: receive, maxReceiveCount: 3 }));
    assert.equal(await processImage(down, id, { messageId: 'm', receiveCount: 3, maxReceiveCount: 3 }), 'failed');
  }

  test('redriveFailed: outage victims and a corrupt image → only the outage victims run again, and end success', async () => {
    const victims = [await accept(await readSample('cameras/Canon_40D.jpg')), await accept(await readSample('cameras/Nikon_D70.jpg'))];
    const corrupt = await accept((await readSample('gps/DSCN0010.jpg')).subarray(0, 20_000));
    await drainJobs();
    for (const id of victims) await failByOutage(id);
    assert.equal(await processImage(pipeline, corrupt, { receiveCount: 1, maxReceiveCount: 3 }), 'failed');
    assert.equal((await t.images.find(corrupt))?.failureKind, 'permanent');
    const statsBefore = await t.images.stats();

    const result = await redriveFailed(operator);
    assert.deepEqual(result, { requeued: 2, sent: 2 });
    const jobs = await drainJobs();
    assert.deepEqual(jobs.map((job) => job.imageId).sort(), victims.toSorted());
    assert.ok(jobs.every((job) => job.generation === 2), 'the jobs carry the new generation');
    const during = await t.images.stats();
    assert.equal(during.failed, statsBefore.failed - 2, 'the counters follow the rows back to queued');
    for (const job of jobs) assert.equal(await runJob(pipeline, job, { receiveCount: 1, maxReceiveCount: 3 }), 'success');
    for (const id of victims) {
      const row = await t.images.find(id);
      assert.equal(row?.status, 'success');
      assert.equal(row?.error, null);
      assert.equal(row?.failureKind, null);
    }
    assert.equal((await t.images.find(corrupt))?.status, 'failed', 'the corrupt image stays failed');
    assert.deepEqual(await redriveFailed(operator), { requeued: 0, sent: 0 }, 'nothing left to run again');
  });

  test('redriveFailed --since: only images that failed at or after the time', async () => {
    const earlier = await accept(await readSample('cameras/Pentax_K10D.jpg'));
    const later = await accept(await readSample('cameras/Kodak_CX7530.jpg'));
    await drainJobs();
    await failByOutage(earlier);
    // Timestamps have millisecond resolution: keep the three apart.
    await sleep(5);
    const since = new Date().toISOString();
    await sleep(5);
    await failByOutage(later);
    assert.deepEqual(await redriveFailed(operator, { since }), { requeued: 1, sent: 1 });
    assert.deepEqual((await drainJobs()).map((job) => job.imageId), [later]);
    assert.equal((await t.images.find(earlier))?.status, 'failed');
    await redriveFailed(operator);
    await drainJobs();
  });

  test('reprocessImage: failed (any kind) → queued with a new job; queued → as is, nothing sent; processing or success → 409; unknown → 404', async () => {
    const corrupt = await accept((await readSample('gps/DSCN0012.jpg')).subarray(0, 20_000));
    await drainJobs();
    assert.equal(await processImage(pipeline, corrupt, { receiveCount: 1, maxReceiveCount: 3 }), 'failed');
    const requeued = await reprocessImage(operator, corrupt);
    assert.equal(requeued.status, 'queued');
    assert.equal(requeued.generation, 2);
    assert.equal((await reprocessImage(operator, corrupt)).status, 'queued', 'a second call while queued');
    const jobs = await drainJobs();
    assert.deepEqual(jobs, [{ imageId: corrupt, kind: 'process', generation: 2 }], 'one job for two calls');
    assert.notEqual((await t.images.find(corrupt))?.jobSentAt, null);

    const claim = await t.lifecycle.claim(corrupt, { messageId: 'x', receiveCount: 1 });
    assert.equal(claim.outcome, 'claimed');
    await assert.rejects(reprocessImage(operator, corrupt), (error: unknown) => error instanceof ConflictError && error.statusCode === 409);

    const good = await accept(await readSample('cameras/Olympus_C8080WZ.jpg'));
    await drainJobs();
    assert.equal(await processImage(pipeline, good, { receiveCount: 1, maxReceiveCount: 3 }), 'success');
    await assert.rejects(reprocessImage(operator, good), ConflictError);
    await assert.rejects(reprocessImage(operator, randomUUID()), ImageNotFoundError);
  });

  test('reprocessImage with the queue unreachable → still queued, the send left to the sweeper', async () => {
    const corrupt = await accept((await readSample('gps/DSCN0021.jpg')).subarray(0, 20_000));
    await drainJobs();
    assert.equal(await processImage(pipeline, corrupt, { receiveCount: 1, maxReceiveCount: 3 }), 'failed');
    const row = await reprocessImage({ ...operator, queue: createJobQueue(unreachableClients().sqs, t.names.queueUrl) }, corrupt);
    assert.equal(row.status, 'queued');
    assert.equal((await t.images.find(corrupt))?.jobSentAt, null, 'unconfirmed: the sweeper will send it');
    assert.deepEqual(
      (await t.images.findUnsentJobs(new Date(Date.now() + 1000).toISOString(), 10)).map((r) => r.id),
      [corrupt],
    );
  });
});
