// A way back from an outage, through the real stack that `npm start` runs:
// the database stays write-locked (another process holds its lock) for longer
// than the queue's deliveries last, so the images in flight end `failed` with
// a transient cause; once the database is back, `npm run redrive` brings every
// one of them to `success`. And POST /api/images/{id}/reprocess.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient } from '@libsql/client';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DATABASE_BUSY_TIMEOUT_MS } from '../../lib/db/client.ts';
import { PROJECT_ROOT, stageNames } from '../../local/resources.ts';
import { getImage, uploadPhoto, waitForImages } from '../support/api-client.ts';
import type { Envelope, ImageDetail } from '../support/api-types.ts';
import { startFakeCaptionServer } from '../support/fake-caption-server.ts';
import type { FakeCaptionServer } from '../support/fake-caption-server.ts';
import { readSample } from '../support/sample-images.ts';
import { startStack } from '../support/stack.ts';
import type { RunningStack } from '../support/stack.ts';

const CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };
const VISIBILITY_SECONDS = 6;

describe('outage and redrive through the local stack', { timeout: 600_000 }, () => {
  const workDir = mkdtempSync(join(tmpdir(), 'imageprocessingapi-outage-'));
  const dataDir = join(workDir, 'data');
  let stack: RunningStack;
  let captions: FakeCaptionServer;
  let sqs: SQSClient;

  before(async () => {
    captions = await startFakeCaptionServer({ text: 'a caption' });
    stack = await startStack({
      dataDir,
      env: {
        CAPTION_ENDPOINT_URL: captions.url,
        // The redrive window (maxReceiveCount x visibility timeout) in seconds rather than minutes;
        // the caption timeout stays below it, as the processor's timeout does on AWS.
        QUEUE_VISIBILITY_TIMEOUT_SECONDS: String(VISIBILITY_SECONDS),
        CAPTION_TIMEOUT_MS: '5000',
        STALE_PROCESSING_SECONDS: '600',
      },
    });
    sqs = new SQSClient({ region: 'us-east-1', endpoint: stack.emulatorUrl, credentials: CREDENTIALS });
  });
  after(async () => {
    if (process.env.E2E_DEBUG) console.log(stack?.output());
    await stack?.stop();
    await captions?.close();
    sqs?.destroy();
    rmSync(workDir, { recursive: true, force: true });
  });

  async function upload(name: string, bytes: Buffer): Promise<string> {
    const { status, body } = await uploadPhoto(stack.apiUrl, name, bytes);
    assert.equal(status, 202);
    return body.data.image_id;
  }

  const detail = (id: string): Promise<ImageDetail> => getImage(stack.apiUrl, id);

  const waitFor = (ids: string[], done: (d: ImageDetail) => boolean, timeoutMs: number): Promise<ImageDetail[]> => waitForImages(stack.apiUrl, ids, done, { timeoutMs, intervalMs: 200 });

  async function messagesIn(queueUrl: string): Promise<number> {
    const res = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }));
    return Number(res.Attributes?.ApproximateNumberOfMessages ?? 0) + Number(res.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
  }

  /** Another process holds the database's write lock until release(): every write of the stack fails after its busy timeout. */
  async function lockDatabase(): Promise<{ release: () => Promise<void> }> {
    const code = `
      const Database = require('libsql');
      const db = new Database(process.argv[1]);
      db.exec('BEGIN IMMEDIATE');
      db.exec("UPDATE images SET updated_at = updated_at WHERE id = 'none'");
      process.stdout.write('locked\\n');
      process.stdin.once('data', () => { db.exec('COMMIT'); db.close(); process.exit(0); });`;
    const child = spawn(process.execPath, ['-e', code, join(dataDir, 'images.db')], { cwd: PROJECT_ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      child.stdout.once('data', () => resolve());
      child.once('exit', (exitCode) => reject(new Error(`lock holder exited with ${exitCode}`)));
    });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    return {
      async release() {
        child.stdin.write('release\n');
        await exited;
      },
    };
  }

  function runRedrive(): Promise<{ code: number | null; output: string }> {
    return new Promise((resolve) => {
      const child = spawn('npm', ['run', '--silent', 'redrive'], {
        cwd: PROJECT_ROOT,
        env: { ...process.env, DATA_DIR: dataDir, AWS_ENDPOINT_URL: stack.emulatorUrl, LOG_LEVEL: 'warn' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
      child.once('exit', (code) => resolve({ code, output }));
    });
  }

  test('database locked longer than the redrive window → images failed with a transient cause; after it is back, npm run redrive → every one success', async () => {
    const names = stageNames('local', stack.emulatorUrl);
    // The caption is slow, so the deliveries are inside the images when the database goes away. Two
    // images: the local event source's two pollers take one each at once.
    captions.setBehaviour({ kind: 'caption', text: 'a caption', delayMs: 3_000 });
    const ids: string[] = [];
    for (const path of ['gps/DSCN0010.jpg', 'orientation/landscape_3.jpg']) ids.push(await upload(path.split('/')[1] ?? 'p.jpg', await readSample(path)));
    await waitFor(ids, (d) => d.status === 'processing', 10_000);

    const lock = await lockDatabase();
    const outageStarted = Date.now();
    // Every delivery fails; after maxReceiveCount receives the messages move to the dead-letter queue.
    const deadline = Date.now() + 120_000;
    while ((await messagesIn(names.deadLetterQueueUrl)) < ids.length || (await messagesIn(names.queueUrl)) > 0) {
      assert.ok(Date.now() < deadline, 'the jobs never reached the dead-letter queue');
      await sleep(250);
    }
    // The emulator moves a message to the dead-letter queue at its last receive, while that
    // delivery may still be waiting for the lock: the outage lasts until its wait has run out.
    await sleep(DATABASE_BUSY_TIMEOUT_MS + 1_000);
    await lock.release();
    const outageSeconds = (Date.now() - outageStarted) / 1000;

    captions.setBehaviour({ kind: 'caption', text: 'after the outage' });
    const failed = await waitFor(ids, (d) => d.status === 'failed', 90_000);
    // The public sentence names the service; the libSQL error text itself is never served.
    // While the database is locked the processor cannot even record its error, so the sentence names either.
    for (const row of failed) {
      assert.match(row.error ?? '', /^Processing failed after 3 attempts: (the database was unavailable|the processor could not finish it \(a crash, a timeout, or the database was unavailable\))\. The image itself may be fine; run it again with POST \/api\/images\/[0-9a-f-]+\/reprocess\.$/);
    }
    for (const row of failed) assert.doesNotMatch(row.error ?? '', /SQLITE|locked|busy/i);
    const db = createClient({ url: `file:${join(dataDir, 'images.db')}` });
    const kinds = await db.execute({ sql: `SELECT failure_kind FROM images WHERE id IN (?, ?)`, args: ids });
    db.close();
    assert.deepEqual(kinds.rows.map((row) => row.failure_kind), ['transient', 'transient']);

    const redrive = await runRedrive();
    assert.equal(redrive.code, 0, redrive.output);
    assert.match(redrive.output, /redrive: 2 image\(s\) queued again, 2 job\(s\) sent/);
    const finals = await waitFor(ids, (d) => d.status === 'success' || d.status === 'failed', 60_000);
    console.log(`outage: database locked ${outageSeconds.toFixed(1)} s (visibility ${VISIBILITY_SECONDS} s x 3 deliveries); ${ids.length} images failed transient; after npm run redrive: ${finals.map((d) => d.status).join(', ')}`);
    for (const final of finals) {
      assert.equal(final.status, 'success', final.error ?? '');
      assert.equal(final.caption, 'after the outage');
      assert.equal(final.error, null);
    }
    const again = await runRedrive();
    assert.match(again.output, /redrive: 0 image\(s\) queued again/);
  });

  test('POST /api/images/{id}/reprocess: a failed image → 202 queued, run again; while processing or after success → 409; unknown → 404', async () => {
    captions.setBehaviour({ kind: 'caption', text: 'a caption' });
    const corrupt = await upload('broken.jpg', (await readSample('gps/DSCN0012.jpg')).subarray(0, 20_000));
    const [failed] = await waitFor([corrupt], (d) => d.status === 'failed', 30_000);
    assert.match(failed?.error ?? '', /corrupt or truncated/);

    const res = await fetch(`${stack.apiUrl}/api/images/${corrupt}/reprocess`, { method: 'POST' });
    assert.equal(res.status, 202);
    const body = (await res.json()) as Envelope<ImageDetail>;
    assert.equal(body.status, 'queued');
    assert.equal(body.error, null);
    assert.equal(body.data.image_id, corrupt);
    assert.equal(body.data.thumbnails.small, `${stack.apiUrl}/api/images/${corrupt}/thumbnails/small`);
    const [again] = await waitFor([corrupt], (d) => d.status === 'failed', 30_000);
    assert.match(again?.error ?? '', /corrupt or truncated/, 'run again, and still a broken file');

    captions.setBehaviour({ kind: 'caption', text: 'slow', delayMs: 3_000 });
    const slow = await upload('slow.jpg', await readSample('cameras/Nikon_D70.jpg'));
    await waitFor([slow], (d) => d.status === 'processing', 10_000);
    const busy = await fetch(`${stack.apiUrl}/api/images/${slow}/reprocess`, { method: 'POST' });
    assert.equal(busy.status, 409);
    assert.deepEqual(await busy.json(), { status: 'error', data: null, error: 'Image is being processed. Try again once it has finished.' });
    await waitFor([slow], (d) => d.status === 'success', 30_000);
    assert.equal((await fetch(`${stack.apiUrl}/api/images/${slow}/reprocess`, { method: 'POST' })).status, 409);
    const unknown = await fetch(`${stack.apiUrl}/api/images/00000000-0000-4000-8000-000000000000/reprocess`, { method: 'POST' });
    assert.equal(unknown.status, 404);
  });
});
