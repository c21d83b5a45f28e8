// What serverless offline does to a Lambda on a timeout, a code reload or a
// stop: it terminates the function's worker thread. Driven here with a worker
// that writes to a libSQL file through the row lifecycle, terminated while a
// write is under way and while it waits between writes, each in a process of
// its own (test/support/terminate-db-writer.ts), since the first takes the
// whole process down. Afterwards the database must be intact and usable.
//
// Why it goes down: libsql 0.5.29 is a Neon 1.0 addon built with
// panic = "abort", and its calls are synchronous. A thread terminated while
// it is inside one (here: waiting for a lock another connection holds)
// finishes the native call with the isolate already terminating; the addon's
// next Node-API call fails, Neon asserts on it (sys/external.rs: "left:
// PendingException, right: Ok") and the panic aborts the process, every
// other worker with it. That is why the local stack runs serverless offline
// with --noTimeout (local/supervisor.ts): its functions end their own calls
// in time, so no Lambda is ever cut off by terminating its thread.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openDatabase } from '../../lib/db/client.ts';
import type { DatabaseClient } from '../../lib/db/client.ts';
import { createImagesRepository } from '../../lib/db/images-repository.ts';
import { createImageLifecycle } from '../../lib/image-lifecycle.ts';

const CHILD = resolve(import.meta.dirname, '../support/terminate-db-writer.ts');

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  committed: string[];
  survived: boolean;
  stderr: string;
}

function runChild(url: string, moment: 'while-writing' | 'between-writes'): Promise<Outcome> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, [CHILD, url, moment], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      const lines = stdout.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as { committed?: string; survived?: number });
      resolveRun({
        code,
        signal,
        committed: lines.flatMap((line) => (line.committed ? [line.committed] : [])),
        survived: lines.some((line) => line.survived !== undefined),
        stderr,
      });
    });
  });
}

/** The checks after the writer's end: the file is sound, every write the writer saw committed is there, the counters agree with the rows, and it takes a write. */
async function assertIntactAndUsable(db: DatabaseClient, committed: string[]): Promise<void> {
  const integrity = await db.execute('PRAGMA integrity_check');
  assert.deepEqual(integrity.rows.map((row) => row[0]), ['ok']);
  const images = createImagesRepository(db);
  for (const id of committed) assert.ok(await images.find(id), `committed row ${id} lost`);
  const count = Number((await db.execute('SELECT count(*) FROM images')).rows[0]?.[0]);
  assert.ok(count >= committed.length);
  assert.equal((await images.stats()).total, count, 'the counters no longer follow the rows');
  const lifecycle = createImageLifecycle(images, { leaseSeconds: 30 });
  const id = '00000000-0000-4000-8000-000000000001';
  await lifecycle.accept({ id, originalName: 'after.jpg', originalKey: `originals/${id}.jpg`, contentType: 'image/jpeg', sizeBytes: 1, createdAt: new Date().toISOString() });
  assert.equal((await images.find(id))?.status, 'queued');
  assert.equal((await images.stats()).total, count + 1);
}

describe('a worker thread writing to libSQL, terminated', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'worker-termination-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('while a write is under way (waiting for a lock inside libsql) → the whole process aborts (SIGABRT, libsql 0.5.29); the database is intact, keeps every committed row and takes new writes', async () => {
    const url = `file:${join(dir, 'while-writing.db')}`;
    const outcome = await runChild(url, 'while-writing');
    assert.ok(outcome.committed.length >= 20, `only ${outcome.committed.length} writes before the termination`);
    // Should a libsql release survive this, the process lives on and the
    // --noTimeout of local/supervisor.ts can be reconsidered.
    assert.equal(outcome.signal, 'SIGABRT', `the process ended otherwise (code ${outcome.code}, survived: ${outcome.survived}):\n${outcome.stderr.slice(-2000)}`);
    assert.match(outcome.stderr, /panicked at .*neon-1\.0\.0\/src\/sys\/external\.rs/);
    const db = await openDatabase(url);
    try {
      await assertIntactAndUsable(db, outcome.committed);
    } finally {
      db.close();
    }
  });

  test('between writes (waiting on a timer, in JavaScript) → the process lives on; the database is intact, keeps every committed row and takes new writes', async () => {
    const url = `file:${join(dir, 'between-writes.db')}`;
    const outcome = await runChild(url, 'between-writes');
    assert.equal(outcome.code, 0, outcome.stderr.slice(-2000));
    assert.ok(outcome.survived);
    assert.equal(outcome.committed.length, 20);
    const db = await openDatabase(url);
    try {
      await assertIntactAndUsable(db, outcome.committed);
    } finally {
      db.close();
    }
  });
});
