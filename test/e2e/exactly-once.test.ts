// Each image's work done once, through the real stack that `npm start` runs
// (serverless-offline Lambdas, the embedded S3+SQS emulator, a libSQL file,
// the SQS event source) and a caption endpoint that counts its calls:
// duplicate job messages, a backlog older than STALE_QUEUED_SECONDS with the
// sweeper invoked again and again, retried uploads with an Idempotency-Key,
// and a processor killed in the middle of its images.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GetQueueAttributesCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { RESOURCES, stageNames } from '../../local/resources.ts';
import type { Envelope, ImageDetail } from '../support/api-types.ts';
import { getImage, isFinal, uploadPhoto, waitForImages } from '../support/api-client.ts';
import { startFakeCaptionServer } from '../support/fake-caption-server.ts';
import type { FakeCaptionServer } from '../support/fake-caption-server.ts';
import { listSamples, readSample } from '../support/sample-images.ts';
import { startStack } from '../support/stack.ts';
import type { RunningStack } from '../support/stack.ts';

const CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };
const STALE_QUEUED_SECONDS = 2;
const CAPTION_MS = 400;

interface LogLine {
  time: string;
  msg: string;
  imageId?: string;
}

describe('each image processed once, through the local stack', { timeout: 600_000 }, () => {
  const workDir = mkdtempSync(join(tmpdir(), 'imageprocessingapi-once-'));
  const dataDir = join(workDir, 'data');
  let stack: RunningStack;
  let captions: FakeCaptionServer;
  let sqs: SQSClient;
  let photos: Array<{ name: string; bytes: Buffer }>;
  const env = (): Record<string, string> => ({
    CAPTION_ENDPOINT_URL: captions.url,
    // Leases and redeliveries in seconds rather than minutes. As on AWS (visibility at least 6x the
    // processor's timeout), a delivery always ends before its message could come back: the caption
    // timeout and every batch stay shorter than the visibility timeout.
    QUEUE_VISIBILITY_TIMEOUT_SECONDS: '8',
    CAPTION_TIMEOUT_MS: '7000',
    STALE_QUEUED_SECONDS: String(STALE_QUEUED_SECONDS),
    STALE_PROCESSING_SECONDS: '600',
  });

  before(async () => {
    captions = await startFakeCaptionServer({ text: 'counted' });
    const paths = await listSamples('cameras');
    photos = await Promise.all(paths.map(async (path) => ({ name: path.split('/')[1] ?? 'photo.jpg', bytes: await readSample(path) })));
    stack = await startStack({ dataDir, env: env() });
    sqs = new SQSClient({ region: 'us-east-1', endpoint: stack.emulatorUrl, credentials: CREDENTIALS });
  });
  after(async () => {
    if (process.env.E2E_DEBUG) console.log(stack?.output());
    await stack?.stop();
    await captions?.close();
    sqs?.destroy();
    rmSync(workDir, { recursive: true, force: true });
  });

  const queueUrl = (): string => stageNames('local', stack.emulatorUrl).queueUrl;

  async function upload(photo: { name: string; bytes: Buffer }, headers: Record<string, string> = {}): Promise<{ status: number; body: Envelope<ImageDetail>; replayed: boolean }> {
    const { res, status, body } = await uploadPhoto(stack.apiUrl, photo.name, photo.bytes, { headers });
    return { status, body, replayed: res.headers.get('idempotent-replayed') === 'true' };
  }

  const detail = (id: string): Promise<ImageDetail> => getImage(stack.apiUrl, id);

  const waitForSuccess = (ids: string[], timeoutMs = 90_000): Promise<ImageDetail[]> => waitForImages(stack.apiUrl, ids, isFinal, { timeoutMs, intervalMs: 150 });

  /** Every message of the job queue handled: none waiting, none in flight, none delayed. */
  async function waitForQueueEmpty(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const res = await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: queueUrl(), AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'] }),
      );
      const a = res.Attributes ?? {};
      const left = Number(a.ApproximateNumberOfMessages) + Number(a.ApproximateNumberOfMessagesNotVisible) + Number(a.ApproximateNumberOfMessagesDelayed);
      if (left === 0) return;
      assert.ok(Date.now() < deadline, `${left} message(s) still in the job queue`);
      await sleep(200);
    }
  }

  function logLines(): LogLine[] {
    return readFileSync(join(dataDir, 'logs', 'app.log'), 'utf8')
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as LogLine);
  }

  const countPerImage = (ids: string[], msg: string, lines = logLines()): number[] => ids.map((id) => lines.filter((line) => line.imageId === id && line.msg === msg).length);

  test('12 photos, each job message sent 3 more times while the first delivery works → every image captioned once and processed once', async () => {
    captions.setBehaviour({ kind: 'caption', text: 'counted', delayMs: CAPTION_MS });
    const callsBefore = captions.requests.length;
    const ids: string[] = [];
    for (const photo of photos.slice(0, 12)) {
      const res = await upload(photo);
      assert.equal(res.status, 202);
      const id = res.body.data.image_id;
      ids.push(id);
      // SQS delivers at least once: three more copies of the job, sent while the first is being worked on.
      for (let copy = 0; copy < 3; copy++) {
        await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl(), MessageBody: JSON.stringify({ imageId: id, kind: 'process', generation: 1 }) }));
      }
    }
    const finals = await waitForSuccess(ids);
    await waitForQueueEmpty();
    for (const final of finals) {
      assert.equal(final.status, 'success', final.error ?? '');
      assert.equal(final.caption, 'counted');
    }
    const calls = captions.requests.length - callsBefore;
    const started = countPerImage(ids, 'processing started');
    const skipped = ids.map((id) => logLines().filter((line) => line.imageId === id && /^duplicate delivery/.test(line.msg)).length);
    console.log(`duplicates: ${ids.length} images, ${3 * ids.length} extra messages; caption calls ${calls}; processing started per image ${JSON.stringify(started)}; duplicates skipped per image ${JSON.stringify(skipped)}`);
    // Every image has its caption and there were as many calls as images: one call each.
    assert.equal(calls, ids.length, 'caption calls');
    assert.deepEqual(started, ids.map(() => 1), '"processing started" per image');
    assert.deepEqual(skipped, ids.map(() => 3), 'each extra copy skipped without work');
  });

  test('a backlog older than STALE_QUEUED_SECONDS with the sweeper invoked every 300 ms → no job sent again, every image processed once', async () => {
    // The stack's two pollers hold up to 20 images at once, whose captions
    // wait side by side: 3 s captions keep the second half of the 40 queued
    // longer than STALE_QUEUED_SECONDS.
    captions.setBehaviour({ kind: 'caption', text: 'counted', delayMs: 3_000 });
    const callsBefore = captions.requests.length;
    const lambda = new LambdaClient({ region: 'us-east-1', endpoint: stack.lambdaUrl, credentials: CREDENTIALS, maxAttempts: 1 });
    const sweeps: Array<{ resent: number; failed: number; captionsResent: number }> = [];
    let sweeping = true;
    const sweeper = (async () => {
      while (sweeping) {
        const result = await lambda.send(new InvokeCommand({ FunctionName: `${RESOURCES.service}-local-sweepImages`, Payload: Buffer.from('{}') }));
        assert.equal(result.FunctionError, undefined, Buffer.from(result.Payload ?? []).toString('utf8'));
        sweeps.push(JSON.parse(Buffer.from(result.Payload ?? []).toString('utf8')) as (typeof sweeps)[number]);
        await sleep(300);
      }
    })();
    const ids: string[] = [];
    const uploaded = new Map<string, number>();
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < 40) {
          const photo = photos[next++ % photos.length];
          assert.ok(photo);
          const res = await upload(photo);
          assert.equal(res.status, 202);
          ids.push(res.body.data.image_id);
          uploaded.set(res.body.data.image_id, Date.now());
        }
      }),
    );
    const finals = await waitForSuccess(ids, 120_000);
    await waitForQueueEmpty();
    sweeping = false;
    await sweeper;
    lambda.destroy();

    for (const final of finals) assert.equal(final.status, 'success', final.error ?? '');
    const lines = logLines();
    const waits = ids.map((id) => {
      const first = lines.find((line) => line.imageId === id && line.msg === 'processing started');
      return first ? Date.parse(first.time) - (uploaded.get(id) ?? 0) : 0;
    });
    const longestWait = Math.max(...waits);
    const resent = sweeps.reduce((sum, s) => sum + s.resent, 0);
    const started = countPerImage(ids, 'processing started', lines);
    console.log(`backlog: ${ids.length} images, longest wait in the queue ${(longestWait / 1000).toFixed(1)} s (STALE_QUEUED_SECONDS ${STALE_QUEUED_SECONDS}); sweeper invoked ${sweeps.length} times, jobs sent again ${resent}; processing started per image: min ${Math.min(...started)}, max ${Math.max(...started)}; caption calls ${captions.requests.length - callsBefore}`);
    assert.ok(longestWait > STALE_QUEUED_SECONDS * 1000, `the backlog was not longer than STALE_QUEUED_SECONDS (longest wait ${longestWait} ms)`);
    assert.ok(sweeps.length >= 5, `the sweeper ran ${sweeps.length} times`);
    assert.equal(resent, 0, 'jobs sent again by the sweeper');
    assert.deepEqual(started, ids.map(() => 1), '"processing started" per image');
    assert.equal(captions.requests.length - callsBefore, ids.length, 'caption calls');
  });

  test('Idempotency-Key: two identical requests at once, then the same again → one image; another file with the key → 422', async () => {
    const before = ((await (await fetch(`${stack.apiUrl}/api/stats`)).json()) as Envelope<{ total: number }>).data.total;
    const photo = photos[0];
    const otherPhoto = photos[1];
    assert.ok(photo && otherPhoto);
    const key = crypto.randomUUID();
    const concurrent = await Promise.all([upload(photo, { 'Idempotency-Key': key }), upload(photo, { 'Idempotency-Key': key })]);
    for (const res of concurrent) assert.equal(res.status, 202, JSON.stringify(res.body));
    const id = concurrent[0]?.body.data.image_id;
    assert.equal(concurrent[1]?.body.data.image_id, id);
    assert.equal(concurrent.filter((res) => res.replayed).length, 1, 'one answer is the replay');
    const sequential = await upload(photo, { 'idempotency-key': key });
    assert.equal(sequential.status, 202);
    assert.equal(sequential.body.data.image_id, id);
    assert.equal(sequential.replayed, true);
    const other = await upload(otherPhoto, { 'Idempotency-Key': key });
    assert.equal(other.status, 422);
    assert.equal(other.body.status, 'error');
    assert.match(other.body.error ?? '', /Idempotency-Key was already used for a different upload/);
    const after = ((await (await fetch(`${stack.apiUrl}/api/stats`)).json()) as Envelope<{ total: number }>).data.total;
    assert.equal(after - before, 1, 'one image stored');
    await waitForSuccess([id ?? '']);
  });

  test('processor killed mid-image → after the restart each image is processed by the next delivery, once, and captioned once more', async () => {
    // The caption is the slow step, so the processor is inside the images when the stack dies.
    captions.setBehaviour({ kind: 'caption', text: 'never delivered', delayMs: 6_000 });
    const callsBefore = captions.requests.length;
    const ids: string[] = [];
    // Two: the local event source's two pollers take one each at once (a third would wait for a free poller).
    for (const photo of photos.slice(12, 14)) ids.push((await upload(photo)).body.data.image_id);
    const deadline = Date.now() + 5_000;
    while (countPerImage(ids, 'processing started').some((n) => n === 0) || captions.requests.length < callsBefore + ids.length) {
      assert.ok(
        Date.now() < deadline,
        `the processor did not reach the caption step of every image: started ${JSON.stringify(countPerImage(ids, 'processing started'))}, caption calls ${captions.requests.length - callsBefore}`,
      );
      await sleep(50);
    }
    const before = countPerImage(ids, 'processing started');
    assert.deepEqual(before, ids.map(() => 1));

    await stack.crash();
    captions.setBehaviour({ kind: 'caption', text: 'after the crash' });
    const callsAtRestart = captions.requests.length;
    stack = await startStack({ dataDir, env: env(), ports: stack.ports });
    const finals = await waitForSuccess(ids);
    await waitForQueueEmpty();
    for (const final of finals) {
      assert.equal(final.status, 'success', final.error ?? '');
      assert.equal(final.caption, 'after the crash');
    }
    const afterRestart = countPerImage(ids, 'processing started').map((n, i) => n - (before[i] ?? 0));
    const calls = captions.requests.length - callsAtRestart;
    console.log(`killed processor: ${ids.length} images; "processing started" after the restart per image ${JSON.stringify(afterRestart)}; caption calls after the restart ${calls}`);
    assert.deepEqual(afterRestart, ids.map(() => 1), 'processed once by the next delivery');
    assert.equal(calls, ids.length, 'one caption call per image after the restart');
  });
});
