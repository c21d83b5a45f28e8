// Timeouts that fit the functions: a stalled S3 ends in the upload's 503 and
// rollback within the SDK's budget (a server that accepts connections and
// never answers, a fault the emulator cannot produce), and a batch starts no
// record once the invocation has less time left than the longest image.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { PurgeQueueCommand } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { createAwsClients, SDK_CALL_BUDGET_MS, SDK_TIMEOUTS } from '../../lib/deps.ts';
import { ServiceUnavailableError } from '../../lib/errors.ts';
import { createCaptioner } from '../../lib/images/caption.ts';
import { processJobBatch } from '../../lib/process-batch.ts';
import { createImageStorage } from '../../lib/storage.ts';
import { uploadImage } from '../../lib/upload-image.ts';
import { startFakeCaptionServer } from '../support/fake-caption-server.ts';
import type { FakeCaptionServer } from '../support/fake-caption-server.ts';
import { pipelineDeps, startTestDeps, uploadDeps } from '../support/real-deps.ts';
import type { TestDeps } from '../support/real-deps.ts';
import { readSample } from '../support/sample-images.ts';

describe('timeouts that fit', () => {
  let t: TestDeps;
  let silent: Server;
  let silentUrl: string;
  const sockets = new Set<Socket>();
  let captions: FakeCaptionServer;

  before(async () => {
    t = await startTestDeps();
    captions = await startFakeCaptionServer({ text: 'slow' });
    silent = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.resume();
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const address = silent.address();
    assert.ok(address && typeof address === 'object');
    silentUrl = `http://127.0.0.1:${address.port}`;
  });
  after(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
    await captions.close();
    await t.close();
  });

  test('upload with S3 accepting connections and never answering → 503 within the SDK budget, no row left', async () => {
    const { s3 } = createAwsClients({ region: 'us-east-1', awsEndpoint: silentUrl });
    const before = (await t.images.stats()).total;
    const started = Date.now();
    await assert.rejects(
      uploadImage(
        uploadDeps(t, { storage: createImageStorage(s3, t.names.bucket), maxUploadBytes: 1 << 24 }),
        { filename: 'a.jpg', content: await readSample('cameras/Canon_40D.jpg') },
      ),
      (error: unknown) => error instanceof ServiceUnavailableError && /Storage/.test(error.message),
    );
    const took = Date.now() - started;
    assert.ok(took >= SDK_TIMEOUTS.requestTimeoutMs, `took ${took} ms: it did not wait for the silent server`);
    assert.ok(took <= SDK_CALL_BUDGET_MS, `took ${took} ms, budget ${SDK_CALL_BUDGET_MS} ms`);
    assert.equal((await t.images.stats()).total, before);
    s3.destroy();
  });

  test('processJobBatch: less time left than the longest image → the records not started are reported and left untouched', async () => {
    await t.sqs.send(new PurgeQueueCommand({ QueueUrl: t.names.queueUrl }));
    const ids: string[] = [];
    for (const path of ['cameras/Nikon_D70.jpg', 'cameras/Pentax_K10D.jpg', 'cameras/Kodak_CX7530.jpg']) {
      const { record } = await uploadImage(
        uploadDeps(t, { maxUploadBytes: 1 << 24 }),
        { filename: 'p.jpg', content: await readSample(path) },
      );
      ids.push(record.id);
    }
    captions.setBehaviour({ kind: 'caption', text: 'slow', delayMs: 400 });
    // The invocation ends 10.3 s from now and an image may take 10 s: only the first record fits.
    const deadline = Date.now() + 10_300;
    const response = await processJobBatch(
      pipelineDeps(t, { captioner: createCaptioner({ mode: 'endpoint', endpointUrl: captions.url, token: undefined, timeoutMs: 5_000 }) }),
      ids.map((id, i) => sqsRecord(`m${i}`, { imageId: id, kind: 'process' })),
      { concurrency: 1, maxReceiveCount: 3, remainingTimeMs: () => deadline - Date.now(), longestImageMs: 10_000 },
    );
    assert.deepEqual(response.batchItemFailures, [{ itemIdentifier: 'm1' }, { itemIdentifier: 'm2' }]);
    assert.equal((await t.images.find(ids[0] ?? ''))?.status, 'success');
    for (const id of ids.slice(1)) {
      const row = await t.images.find(id);
      assert.equal(row?.status, 'queued');
      assert.equal(row?.attempts, 0, 'not claimed');
    }
  });
});

function sqsRecord(messageId: string, body: unknown): SQSRecord {
  return {
    messageId,
    receiptHandle: messageId,
    body: JSON.stringify(body),
    attributes: { ApproximateReceiveCount: '1', SentTimestamp: '0', SenderId: 'test', ApproximateFirstReceiveTimestamp: '0' },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:test',
    awsRegion: 'us-east-1',
  };
}
