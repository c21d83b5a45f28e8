// The sweeper against real parts: it sends again only jobs whose send was never
// confirmed, never a row merely waiting in a long queue; it picks up pending
// captions with no attempt scheduled; and it fails a row whose lease ran out
// long ago, but never one a delivery claimed a moment ago.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { GetQueueAttributesCommand, PurgeQueueCommand, ReceiveMessageCommand, DeleteMessageCommand } from '@aws-sdk/client-sqs';
import { createImageLifecycle } from '../../lib/image-lifecycle.ts';
import { createCaptioner } from '../../lib/images/caption.ts';
import { runJob } from '../../lib/pipeline.ts';
import type { PipelineDeps } from '../../lib/pipeline.ts';
import { createJobQueue, parseJob } from '../../lib/queue.ts';
import { sweepStaleImages } from '../../lib/sweep.ts';
import type { SweepDeps, SweepResult } from '../../lib/sweep.ts';
import { uploadImage } from '../../lib/upload-image.ts';
import { startFakeCaptionServer } from '../support/fake-caption-server.ts';
import type { FakeCaptionServer } from '../support/fake-caption-server.ts';
import { pipelineDeps, startTestDeps, unreachableClients, uploadDeps } from '../support/real-deps.ts';
import type { TestDeps } from '../support/real-deps.ts';
import { listSamples, readSample } from '../support/sample-images.ts';

const HOUR = 3_600_000;

describe('sweeper and the confirmed send', () => {
  let t: TestDeps;
  let captions: FakeCaptionServer;
  let sweepDeps: SweepDeps;
  let pipeline: PipelineDeps;

  before(async () => {
    t = await startTestDeps();
    captions = await startFakeCaptionServer({ text: 'a caption' });
    sweepDeps = { images: t.images, lifecycle: t.lifecycle, queue: t.queue, storage: t.storage, logger: t.logger };
  });
  after(async () => {
    await captions.close();
    await t.close();
  });
  beforeEach(async () => {
    captions.setBehaviour({ kind: 'caption', text: 'a caption' });
    await t.sqs.send(new PurgeQueueCommand({ QueueUrl: t.names.queueUrl }));
    pipeline = pipelineDeps(t, { captioner: createCaptioner({ mode: 'endpoint', endpointUrl: captions.url, token: undefined, timeoutMs: 2_000 }), captionRetry: { maxAttempts: 3, baseDelaySeconds: 1 } });
  });

  async function accept(path: string): Promise<string> {
    const { record } = await uploadImage(
      uploadDeps(t),
      { filename: path.split('/')[1], content: await readSample(path) },
    );
    return record.id;
  }

  const sweep = (at: Date): Promise<SweepResult> => sweepStaleImages(sweepDeps, { now: at, staleQueuedSeconds: 60, staleProcessingSeconds: 1800 });

  async function queueDepth(): Promise<number> {
    const res = await t.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: t.names.queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'] }),
    );
    const a = res.Attributes ?? {};
    return Number(a.ApproximateNumberOfMessages ?? 0) + Number(a.ApproximateNumberOfMessagesNotVisible ?? 0) + Number(a.ApproximateNumberOfMessagesDelayed ?? 0);
  }

  /** Receives and runs every job in the queue, as the processor would; the image ids of the jobs run. */
  async function drainAndRun(): Promise<string[]> {
    const ran: string[] = [];
    for (;;) {
      const res = await t.sqs.send(new ReceiveMessageCommand({ QueueUrl: t.names.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, MessageSystemAttributeNames: ['All'] }));
      const messages = res.Messages ?? [];
      if (messages.length === 0) return ran;
      for (const message of messages) {
        const job = parseJob(message.Body ?? '');
        await runJob(pipeline, job, { messageId: message.MessageId ?? '', receiveCount: Number(message.Attributes?.ApproximateReceiveCount ?? 1), maxReceiveCount: 3 });
        await t.sqs.send(new DeleteMessageCommand({ QueueUrl: t.names.queueUrl, ReceiptHandle: message.ReceiptHandle }));
        ran.push(job.imageId);
      }
    }
  }

  test('backlog older than STALE_QUEUED_SECONDS, sweeper run 5 times → no job sent again, every image processed once', async () => {
    const paths = [...(await listSamples('cameras'))].slice(0, 20);
    const ids = await Promise.all(paths.map(accept));
    assert.equal(await queueDepth(), ids.length);
    for (let run = 1; run <= 5; run++) {
      const result = await sweep(new Date(Date.now() + run * HOUR));
      assert.equal(result.resent, 0, `run ${run} sent jobs again`);
      assert.equal(result.failed, 0);
    }
    assert.equal(await queueDepth(), ids.length, 'the backlog did not grow');
    const ran = await drainAndRun();
    assert.deepEqual(ran.toSorted(), ids.toSorted(), 'one job per image');
    for (const id of ids) {
      const row = await t.images.find(id);
      assert.equal(row?.status, 'success');
      assert.equal(row?.attempts, 1);
    }
  });

  test('a row whose send was never confirmed (upload stopped after the insert) → sent once after STALE_QUEUED_SECONDS, then no more', async () => {
    const now = new Date().toISOString();
    const row = await t.lifecycle.accept({ id: crypto.randomUUID(), originalName: 'a.jpg', originalKey: 'originals/none.jpg', contentType: 'image/jpeg', sizeBytes: 1, createdAt: now });
    assert.equal(row.jobSentAt, null);
    assert.equal((await sweep(new Date(Date.now() + 30_000))).resent, 0, 'not yet stale');
    assert.equal((await sweep(new Date(Date.now() + HOUR))).resent, 1);
    assert.notEqual((await t.images.find(row.id))?.jobSentAt, null, 'the send is confirmed');
    assert.equal((await sweep(new Date(Date.now() + 2 * HOUR))).resent, 0);
    assert.equal(await queueDepth(), 1);
  });

  test('a pending caption whose retry could not be scheduled → the sweeper sends a caption job, which captions the image', async () => {
    captions.setBehaviour({ kind: 'status', status: 503, body: { error: 'Model is loading' } });
    const id = await accept('gps/DSCN0042.jpg');
    // The image's job runs here by hand, with the queue unreachable when the caption retry is to be sent.
    await t.sqs.send(new PurgeQueueCommand({ QueueUrl: t.names.queueUrl }));
    const offline = { ...pipeline, queue: createJobQueue(unreachableClients().sqs, t.names.queueUrl) };
    assert.equal(await runJob(offline, { imageId: id, kind: 'process' }, { receiveCount: 1, maxReceiveCount: 3 }), 'success');
    const stranded = await t.images.find(id);
    assert.equal(stranded?.captionStatus, 'pending');
    assert.equal(stranded?.captionJobSentAt, null, 'no retry scheduled');

    captions.setBehaviour({ kind: 'caption', text: 'rescued' });
    assert.equal((await sweep(new Date(Date.now() + HOUR))).captionsResent, 1);
    assert.equal((await sweep(new Date(Date.now() + HOUR))).captionsResent, 0, 'scheduled once');
    await drainAndRun();
    const row = await t.images.find(id);
    assert.equal(row?.captionStatus, 'done');
    assert.equal(row?.caption, 'rescued');
  });

  test('a row whose lease ran out long ago → failed (transient); one a delivery claimed after the sweeper found it → left alone', async () => {
    let clock = Date.now();
    const lifecycle = createImageLifecycle(t.images, { leaseSeconds: 30, now: () => new Date(clock) });
    const abandoned = await accept('gps/DSCN0025.jpg');
    const retaken = await accept('xmp/BlueSquare.jpg');
    await lifecycle.claim(abandoned, { messageId: 'a', receiveCount: 1 });
    await lifecycle.claim(retaken, { messageId: 'b', receiveCount: 1 });
    clock += HOUR;
    const found = await t.images.findAbandoned(new Date(clock - 1800_000).toISOString(), 10);
    assert.deepEqual(found.map((row) => row.id).sort(), [abandoned, retaken].sort());
    // Between the sweeper's look-up and its update, a redelivery claims one of them.
    assert.equal((await lifecycle.claim(retaken, { messageId: 'b', receiveCount: 2 })).outcome, 'claimed');
    const cutoff = new Date(clock - 1800_000);
    const results = await Promise.all(found.map((row) => lifecycle.failAbandoned(row, 1800, cutoff)));
    assert.equal(results.filter(Boolean).length, 1);
    const failed = await t.images.find(abandoned);
    assert.equal(failed?.status, 'failed');
    assert.equal(failed?.failureKind, 'transient');
    assert.match(failed?.error ?? '', /^Processing did not finish within 1800 s: the processor could not finish it \(a crash, a timeout, or the database was unavailable\)\. .*reprocess/);
    assert.equal((await t.images.find(retaken))?.status, 'processing', 'the fresh claim was not failed');
  });

  test('Idempotency-Keys older than 24 h → deleted by the sweeper', async () => {
    const old = new Date(Date.now() - 25 * HOUR).toISOString();
    await t.db.execute({ sql: "INSERT INTO idempotency_keys (key, request_hash, image_id, created_at) VALUES ('old-key', 'h', 'none', ?)", args: [old] });
    const result = await sweep(new Date());
    assert.ok(result.idempotencyKeysDeleted >= 1);
    const rs = await t.db.execute("SELECT count(*) AS n FROM idempotency_keys WHERE key = 'old-key'");
    assert.equal(Number(rs.rows[0]?.n), 0);
  });
});
