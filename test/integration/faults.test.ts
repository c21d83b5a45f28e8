// Faults injected into real parts: the emulator restarted in the middle of a
// stream of uploads, and the database write-locked by another connection.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ReceiveMessageCommand, DeleteMessageCommand } from '@aws-sdk/client-sqs';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ServiceUnavailableError } from '../../lib/errors.ts';
import { processImage } from '../../lib/pipeline.ts';
import type { PipelineDeps } from '../../lib/pipeline.ts';
import { parseJob } from '../../lib/queue.ts';
import { uploadImage } from '../../lib/upload-image.ts';
import { pipelineDeps, startTestDeps, uploadDeps } from '../support/real-deps.ts';
import type { TestDeps } from '../support/real-deps.ts';
import { readSample } from '../support/sample-images.ts';

describe('faults against real parts', () => {
  let t: TestDeps;
  let photo: Buffer;

  before(async () => {
    t = await startTestDeps();
    photo = await readSample('cameras/Canon_40D.jpg');
  });
  after(async () => {
    await t.close();
  });

  const upload = () =>
    uploadImage(uploadDeps(t, { maxUploadBytes: 1 << 24 }), { filename: 'a.jpg', content: photo }).then(
      (result) => result.record,
    );

  const pipeline = (): PipelineDeps => pipelineDeps(t);

  /** Receives and processes every job in the queue, as the processor would. */
  async function drainAndProcess(): Promise<number> {
    let processed = 0;
    for (;;) {
      const res = await t.sqs.send(new ReceiveMessageCommand({ QueueUrl: t.names.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, MessageSystemAttributeNames: ['All'] }));
      const messages = res.Messages ?? [];
      if (messages.length === 0) return processed;
      for (const message of messages) {
        const job = parseJob(message.Body ?? '');
        await processImage(pipeline(), job.imageId, { receiveCount: Number(message.Attributes?.ApproximateReceiveCount ?? 1), maxReceiveCount: 3 });
        await t.sqs.send(new DeleteMessageCommand({ QueueUrl: t.names.queueUrl, ReceiptHandle: message.ReceiptHandle }));
        processed++;
      }
    }
  }

  test('emulator restarted during a stream of uploads → each upload answered 202 or 503, every accepted image processed, none lost', async () => {
    const accepted: string[] = [];
    let refused = 0;
    const restart = (async () => {
      await sleep(150);
      await t.restartEmulator(1_500);
    })();
    const deadline = Date.now() + 4_000;
    while (Date.now() < deadline) {
      try {
        accepted.push((await upload()).id);
      } catch (error) {
        assert.ok(error instanceof ServiceUnavailableError, `unexpected ${String(error)}`);
        refused++;
      }
      await sleep(40);
    }
    await restart;
    assert.ok(accepted.length > 0, 'some uploads were accepted');
    assert.ok(refused > 0, 'some uploads met the emulator down and were refused with 503');
    await drainAndProcess();
    for (const id of accepted) assert.equal((await t.images.find(id))?.status, 'success', id);
    const stats = await t.images.stats();
    assert.equal(stats.total, accepted.length, 'no row for a refused upload');
    assert.equal(stats.success + stats.failed, stats.total);
  });

  /**
   * Another process holds the write lock for `ms`: libSQL waits for a lock
   * synchronously, so the holder cannot share this test's event loop.
   */
  async function holdWriteLock(ms: number): Promise<{ released: Promise<void> }> {
    const code = `
      const Database = require('libsql');
      const db = new Database(process.argv[1]);
      db.exec('BEGIN IMMEDIATE');
      db.exec("UPDATE images SET updated_at = updated_at WHERE id = 'none'");
      process.stdout.write('locked\\n');
      setTimeout(() => { db.exec('COMMIT'); db.close(); }, ${ms});`;
    const child = spawn(process.execPath, ['-e', code, join(t.dir, 'images.db')], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      child.stdout.once('data', () => resolve());
      child.once('exit', (exitCode) => reject(new Error(`lock holder exited with ${exitCode}`)));
    });
    return { released: new Promise((resolve) => child.once('exit', () => resolve())) };
  }

  test('database write-locked for 1 s by another process → the upload waits and succeeds', async () => {
    const lock = await holdWriteLock(1_000);
    const started = Date.now();
    const record = await upload();
    assert.ok(Date.now() - started >= 800, 'the upload waited for the lock');
    assert.equal(record.status, 'queued');
    await lock.released;
  });

  test('database write-locked past the busy timeout → upload 503 with no orphan row; processing rethrows for a retry', async () => {
    const queued = await upload();
    const before = (await t.images.stats()).total;
    const lock = await holdWriteLock(12_000);
    await assert.rejects(upload(), (error: unknown) => error instanceof ServiceUnavailableError && /Database/.test(error.message));
    await assert.rejects(processImage(pipeline(), queued.id, { receiveCount: 1, maxReceiveCount: 3 }), /locked|busy/i);
    await lock.released;
    assert.equal((await t.images.stats()).total, before);
    assert.equal((await t.images.find(queued.id))?.status, 'queued', 'the locked attempt changed nothing');
    assert.equal(await processImage(pipeline(), queued.id, { receiveCount: 2, maxReceiveCount: 3 }), 'success');
  });
});
