// A batch of the processor with slow captions, against real parts (the
// emulator, a libSQL file, sharp, the caption client and a local caption
// endpoint that answers after a delay): image work stays within its bound
// while the captions of the batch wait side by side, and every row still ends
// `success` with its caption, or with the caption degraded when it fails.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { SQSRecord } from 'aws-lambda';
import { createCaptioner } from '../../lib/images/caption.ts';
import type { PipelineDeps } from '../../lib/pipeline.ts';
import { processJobBatch } from '../../lib/process-batch.ts';
import { uploadImage } from '../../lib/upload-image.ts';
import { createWorkSlots } from '../../lib/work-slots.ts';
import type { WorkSlots } from '../../lib/work-slots.ts';
import { startFakeCaptionServer } from '../support/fake-caption-server.ts';
import type { FakeCaptionServer } from '../support/fake-caption-server.ts';
import { pipelineDeps as realPipelineDeps, startTestDeps, uploadDeps } from '../support/real-deps.ts';
import type { TestDeps } from '../support/real-deps.ts';
import { readSample } from '../support/sample-images.ts';

const PHOTOS = ['cameras/Canon_40D.jpg', 'cameras/Nikon_D70.jpg', 'gps/DSCN0010.jpg', 'gps/DSCN0012.jpg', 'cameras/Fujifilm_FinePix_E500.jpg', 'cameras/Olympus_C8080WZ.jpg'];

/** The slots of lib/work-slots.ts, counting how many of each kind of work are under way at once. */
function countedSlots(bounds: { image: number; caption: number }): { slots: WorkSlots; peak: { image: number; caption: number } } {
  const real = createWorkSlots(bounds);
  const now = { image: 0, caption: 0 };
  const peak = { image: 0, caption: 0 };
  const counted =
    (kind: 'image' | 'caption') =>
    <T>(work: () => Promise<T>): Promise<T> =>
      real[kind](async () => {
        now[kind] += 1;
        peak[kind] = Math.max(peak[kind], now[kind]);
        try {
          return await work();
        } finally {
          now[kind] -= 1;
        }
      });
  return { slots: { image: counted('image'), caption: counted('caption') }, peak };
}

function sqsRecord(messageId: string, imageId: string): SQSRecord {
  return {
    messageId,
    receiptHandle: messageId,
    body: JSON.stringify({ imageId, kind: 'process' }),
    attributes: { ApproximateReceiveCount: '1', SentTimestamp: '0', SenderId: 'test', ApproximateFirstReceiveTimestamp: '0' },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:test',
    awsRegion: 'us-east-1',
  };
}

describe('processJobBatch with work slots: captions off the image slots', () => {
  let t: TestDeps;
  let captions: FakeCaptionServer;

  before(async () => {
    t = await startTestDeps();
    captions = await startFakeCaptionServer();
  });
  after(async () => {
    await captions.close();
    await t.close();
  });

  function pipelineDeps(slots: WorkSlots): PipelineDeps {
    return realPipelineDeps(t, { captioner: createCaptioner({ mode: 'endpoint', endpointUrl: captions.url, token: undefined, timeoutMs: 5_000 }), captionRetry: { maxAttempts: 3, baseDelaySeconds: 1 }, slots });
  }

  async function acceptAll(): Promise<string[]> {
    const ids: string[] = [];
    for (const photo of PHOTOS) {
      const { record } = await uploadImage(
        uploadDeps(t),
        { filename: photo.split('/').pop() ?? 'photo.jpg', content: await readSample(photo) },
      );
      ids.push(record.id);
    }
    return ids;
  }

  test('one image slot, six records with slow captions → one decode at a time, all six captions waiting together, every row success with its caption', async () => {
    // Long enough that all six decodes finish, one at a time, while the first caption still waits.
    captions.setBehaviour({ kind: 'caption', text: 'a slow caption', delayMs: 3_000 });
    const ids = await acceptAll();
    const { slots, peak } = countedSlots({ image: 1, caption: 10 });
    const response = await processJobBatch(pipelineDeps(slots), ids.map((id, i) => sqsRecord(`m${i}`, id)), { concurrency: ids.length, maxReceiveCount: 3 });
    assert.deepEqual(response.batchItemFailures, []);
    assert.equal(peak.image, 1, 'image work above its bound');
    // Were a record to wait for its caption inside its image slot, captions would run one at a time.
    assert.equal(peak.caption, ids.length, 'captions did not wait side by side');
    for (const id of ids) {
      const row = await t.images.find(id);
      assert.equal(row?.status, 'success', id);
      assert.equal(row?.captionStatus, 'done', id);
      assert.equal(row?.caption, 'a slow caption', id);
    }
  });

  test('the caption bound holds: two caption slots for six records → at most two calls at once, every caption done', async () => {
    captions.setBehaviour({ kind: 'caption', text: 'two at a time', delayMs: 100 });
    const ids = await acceptAll();
    const { slots, peak } = countedSlots({ image: 2, caption: 2 });
    const response = await processJobBatch(pipelineDeps(slots), ids.map((id, i) => sqsRecord(`n${i}`, id)), { concurrency: ids.length, maxReceiveCount: 3 });
    assert.deepEqual(response.batchItemFailures, []);
    assert.ok(peak.image <= 2, `image work ${peak.image} at once`);
    assert.equal(peak.caption, 2);
    for (const id of ids) assert.equal((await t.images.find(id))?.caption, 'two at a time', id);
  });

  test('a failing caption service → every row still success, its caption pending for a retry, the image slots never held by a caption', async () => {
    captions.setBehaviour({ kind: 'status', status: 503 });
    const ids = await acceptAll();
    const { slots, peak } = countedSlots({ image: 1, caption: 10 });
    const response = await processJobBatch(pipelineDeps(slots), ids.map((id, i) => sqsRecord(`f${i}`, id)), { concurrency: ids.length, maxReceiveCount: 3 });
    assert.deepEqual(response.batchItemFailures, []);
    assert.equal(peak.image, 1);
    for (const id of ids) {
      const row = await t.images.find(id);
      assert.equal(row?.status, 'success', id);
      assert.equal(row?.captionStatus, 'pending', id);
    }
  });
});
