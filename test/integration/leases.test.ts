// Leases against real parts: the emulator's S3 and SQS, a libSQL file, sharp,
// and the real caption client talking to a local server that counts its calls.
// Each image's work, and its caption call, is done once whatever duplicates
// arrive; a delivery whose Lambda died is taken over once its lease is gone.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, beforeEach, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { GetQueueAttributesCommand, PurgeQueueCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { pino } from 'pino';
import type { ProcessedImage } from '../../lib/db/images-repository.ts';
import { settleDeadLetters } from '../../lib/dead-letters.ts';
import { createImageLifecycle } from '../../lib/image-lifecycle.ts';
import { createCaptioner } from '../../lib/images/caption.ts';
import type { Logger } from '../../lib/log.ts';
import { processImage, retryCaption } from '../../lib/pipeline.ts';
import type { PipelineDeps } from '../../lib/pipeline.ts';
import { uploadImage } from '../../lib/upload-image.ts';
import { startFakeCaptionServer } from '../support/fake-caption-server.ts';
import type { FakeCaptionServer } from '../support/fake-caption-server.ts';
import { pipelineDeps, startTestDeps, uploadDeps } from '../support/real-deps.ts';
import type { TestDeps } from '../support/real-deps.ts';
import { readSample } from '../support/sample-images.ts';

const PHOTOS = ['cameras/Canon_40D.jpg', 'cameras/Nikon_D70.jpg', 'cameras/Pentax_K10D.jpg', 'gps/DSCN0010.jpg'];

/** A logger whose JSON lines the test can count. */
function capturingLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

const RESULT: ProcessedImage = {
  width: 10,
  height: 10,
  format: 'jpg',
  exif: null,
  caption: null,
  captionStatus: 'off',
  captionError: null,
  captionAttempts: 0,
  processingTimeMs: 1,
  processedAt: new Date().toISOString(),
};

describe('leases: each image processed once', () => {
  let t: TestDeps;
  let captions: FakeCaptionServer;
  let deps: PipelineDeps;
  let lines: Array<Record<string, unknown>>;

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
    const captured = capturingLogger();
    lines = captured.lines;
    deps = pipelineDeps(t, { captioner: createCaptioner({ mode: 'endpoint', endpointUrl: captions.url, token: undefined, timeoutMs: 10_000 }), logger: captured.logger, captionRetry: { maxAttempts: 3, baseDelaySeconds: 1 } });
  });

  async function accept(path: string): Promise<string> {
    const { record } = await uploadImage(
      uploadDeps(t),
      { filename: path.split('/')[1], content: await readSample(path) },
    );
    return record.id;
  }

  const started = (id: string): number => lines.filter((line) => line.imageId === id && line.msg === 'processing started').length;
  const captionCalls = (): number => captions.requests.length;

  test('claim: a second delivery while the first holds the lease → leased; after the lease runs out → taken over, and the first can no longer finish', async () => {
    const id = await accept('cameras/Canon_40D.jpg');
    let clock = Date.now();
    const lifecycle = createImageLifecycle(t.images, { leaseSeconds: 30, now: () => new Date(clock) });
    const first = await lifecycle.claim(id, { messageId: 'a', receiveCount: 1 });
    assert.equal(first.outcome, 'claimed');
    assert.equal((await lifecycle.claim(id, { messageId: 'b', receiveCount: 1 })).outcome, 'leased');
    clock += 29_000;
    assert.equal((await lifecycle.claim(id, { messageId: 'b', receiveCount: 2 })).outcome, 'leased', 'still within the lease');
    clock += 2_000;
    const second = await lifecycle.claim(id, { messageId: 'c', receiveCount: 1 });
    assert.equal(second.outcome, 'claimed');
    assert.ok(first.outcome === 'claimed' && second.outcome === 'claimed');
    assert.equal(await lifecycle.succeed(id, first.token, RESULT), false, 'the expired holder cannot finish the row');
    assert.equal(await lifecycle.fail(id, first.token, { reason: 'x', kind: 'permanent', processingTimeMs: null }), false);
    assert.equal(await lifecycle.succeed(id, second.token, RESULT), true);
    assert.equal((await lifecycle.claim(id, { messageId: 'd', receiveCount: 1 })).outcome, 'done');
  });

  test('claim: the same message received again (higher receive count) → taken over at once; the same receive again → leased', async () => {
    const id = await accept('cameras/Nikon_D70.jpg');
    const lifecycle = createImageLifecycle(t.images, { leaseSeconds: 300 });
    assert.equal((await lifecycle.claim(id, { messageId: 'm', receiveCount: 1 })).outcome, 'claimed');
    assert.equal((await lifecycle.claim(id, { messageId: 'm', receiveCount: 1 })).outcome, 'leased');
    const redelivered = await lifecycle.claim(id, { messageId: 'm', receiveCount: 2 });
    assert.equal(redelivered.outcome, 'claimed', 'SQS delivers a message again only after the previous receive is gone');
    assert.equal((await t.images.find(id))?.attempts, 2);
  });

  test('processImage: 3 duplicate deliveries while the first works → captioned once, processing started once, one success and 3 skipped', async () => {
    const ids = await Promise.all(PHOTOS.map(accept));
    captions.setBehaviour({ kind: 'caption', text: 'once', delayMs: 400 });
    const callsBefore = captionCalls();
    const outcomes = await Promise.all(
      ids.flatMap((id, i) => [0, 1, 2, 3].map((copy) => processImage(deps, id, { messageId: `m-${i}-${copy}`, receiveCount: 1, maxReceiveCount: 3 }))),
    );
    assert.equal(outcomes.filter((o) => o === 'success').length, ids.length);
    assert.equal(outcomes.filter((o) => o === 'skipped').length, 3 * ids.length);
    assert.equal(captionCalls() - callsBefore, ids.length, 'one caption call per image');
    for (const id of ids) {
      assert.equal(started(id), 1, `${id} processed once`);
      const row = await t.images.find(id);
      assert.equal(row?.status, 'success');
      assert.equal(row?.caption, 'once');
      assert.equal(row?.attempts, 1, 'one claim per image');
      assert.equal(row?.leaseToken, null, 'the lease is cleared when the row is finished');
    }
  });

  test('processImage: a delivery that died mid-image → the next delivery takes over once its lease runs out; the dead one cannot overwrite the result', async () => {
    const id = await accept('cameras/Pentax_K10D.jpg');
    const shortLease = { ...deps, lifecycle: createImageLifecycle(t.images, { leaseSeconds: 1 }) };
    // The first delivery's caption call hangs past its lease, as a Lambda that died would never answer.
    captions.setBehaviour({ kind: 'caption', text: 'from the dead delivery', delayMs: 3_000 });
    const callsBefore = captionCalls();
    const dead = processImage(shortLease, id, { messageId: 'm', receiveCount: 1, maxReceiveCount: 3 });
    while (captionCalls() === callsBefore) await sleep(20);
    captions.setBehaviour({ kind: 'caption', text: 'from the next delivery' });
    assert.equal(await processImage(shortLease, id, { messageId: 'other', receiveCount: 1, maxReceiveCount: 3 }), 'skipped', 'lease still live');
    await sleep(1_100);
    assert.equal(await processImage(shortLease, id, { messageId: 'm', receiveCount: 2, maxReceiveCount: 3 }), 'success');
    assert.equal(await dead, 'skipped', 'the late holder finds its lease gone');
    const row = await t.images.find(id);
    assert.equal(row?.caption, 'from the next delivery');
    assert.equal(started(id), 2, 'the dead delivery and the one that took over');
    assert.equal(captionCalls() - callsBefore, 2);
  });

  test('retryCaption: 3 duplicate caption jobs at once → the caption service called once', async () => {
    captions.setBehaviour({ kind: 'status', status: 503, body: { error: 'Model is loading' } });
    const id = await accept('gps/DSCN0012.jpg');
    assert.equal(await processImage(deps, id, { receiveCount: 1, maxReceiveCount: 3 }), 'success');
    assert.equal((await t.images.find(id))?.captionStatus, 'pending');
    captions.setBehaviour({ kind: 'caption', text: 'later', delayMs: 300 });
    const callsBefore = captionCalls();
    const outcomes = await Promise.all([0, 1, 2, 3].map((copy) => retryCaption(deps, id, { messageId: `c-${copy}`, receiveCount: 1, maxReceiveCount: 3 })));
    assert.deepEqual(outcomes.sort(), ['skipped', 'skipped', 'skipped', 'success']);
    assert.equal(captionCalls() - callsBefore, 1);
    const row = await t.images.find(id);
    assert.equal(row?.caption, 'later');
    assert.equal(row?.captionAttempts, 2);
  });

  test('settleDeadLetters: a row a delivery still holds a live lease on → left alone and retried later; a dead letter of an earlier generation → nothing', async () => {
    const id = await accept('gps/DSCN0021.jpg');
    const claim = await t.lifecycle.claim(id, { messageId: 'holder', receiveCount: 1 });
    assert.equal(claim.outcome, 'claimed');
    const dlq = { lifecycle: t.lifecycle, queue: t.queue, logger: t.logger, maxReceiveCount: 3 };
    const leased = await settleDeadLetters(dlq, [sqsRecord('d1', { imageId: id, kind: 'process', generation: 1 })]);
    assert.deepEqual(leased.batchItemFailures, [{ itemIdentifier: 'd1' }]);
    assert.equal((await t.images.find(id))?.status, 'processing');

    // The image fails, is run again (generation 2), and then a late dead letter of generation 1 arrives.
    assert.ok(claim.outcome === 'claimed');
    await t.lifecycle.fail(id, claim.token, { reason: 'outage', kind: 'transient', processingTimeMs: null });
    assert.equal((await t.lifecycle.requeue(id, 'transient'))?.generation, 2);
    const stale = await settleDeadLetters(dlq, [sqsRecord('d2', { imageId: id, kind: 'process', generation: 1 })]);
    assert.deepEqual(stale.batchItemFailures, []);
    assert.equal((await t.images.find(id))?.status, 'queued', 'the run again is not failed by an old message');
  });

  test('settleDeadLetters: a message that is not JSON → kept in the dead-letter queue, hidden for 12 h, its body in the log', async () => {
    await t.sqs.send(new PurgeQueueCommand({ QueueUrl: t.names.deadLetterQueueUrl }));
    await t.sqs.send(new SendMessageCommand({ QueueUrl: t.names.deadLetterQueueUrl, MessageBody: 'hello, not a job' }));
    const received = await t.sqs.send(new ReceiveMessageCommand({ QueueUrl: t.names.deadLetterQueueUrl, MaxNumberOfMessages: 1, VisibilityTimeout: 1 }));
    const message = received.Messages?.[0];
    assert.ok(message?.ReceiptHandle && message.MessageId);
    const captured = capturingLogger();
    const record = { ...sqsRecord(message.MessageId, message.Body ?? ''), receiptHandle: message.ReceiptHandle, eventSourceARN: `arn:aws:sqs:us-east-1:000000000000:${t.names.deadLetterQueue}` };
    const response = await settleDeadLetters({ lifecycle: t.lifecycle, queue: t.queue, logger: captured.logger, maxReceiveCount: 3 }, [record]);
    assert.deepEqual(response.batchItemFailures, [{ itemIdentifier: message.MessageId }], 'kept, not deleted');
    const logged = captured.lines.find((line) => line.messageId === message.MessageId && line.body === 'hello, not a job');
    assert.ok(logged, 'the body is in the log');
    assert.ok(!captured.lines.some((line) => line.msg === 'dead letter could not be set aside'));
    await sleep(1_500);
    const again = await t.sqs.send(new ReceiveMessageCommand({ QueueUrl: t.names.deadLetterQueueUrl, MaxNumberOfMessages: 1, WaitTimeSeconds: 0 }));
    assert.equal(again.Messages?.length ?? 0, 0, 'hidden longer than the receive asked for');
    const attrs = await t.sqs.send(new GetQueueAttributesCommand({ QueueUrl: t.names.deadLetterQueueUrl, AttributeNames: ['ApproximateNumberOfMessagesNotVisible'] }));
    assert.equal(attrs.Attributes?.ApproximateNumberOfMessagesNotVisible, '1', 'still in the dead-letter queue');
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
