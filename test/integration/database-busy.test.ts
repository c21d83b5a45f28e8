// A write that meets a database locked past the busy timeout fails with
// SQLITE_BUSY; the writes after it, once the lock is gone, must be committed,
// visible to every other connection and process. (libsql leaves the failed
// statement in progress, and without lib/db/client.ts's reopen every later
// write on that connection would stay uncommitted.)
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { createClient } from '@libsql/client';
import { openDatabase } from '../../lib/db/client.ts';
import { createImagesRepository } from '../../lib/db/images-repository.ts';
import { createImageLifecycle } from '../../lib/image-lifecycle.ts';

const workDir = mkdtempSync(join(tmpdir(), 'database-busy-test-'));
after(() => rmSync(workDir, { recursive: true, force: true }));

/** Another process holds the write lock until release(). */
async function holdWriteLock(path: string): Promise<{ release: () => Promise<void> }> {
  const code = `
    const Database = require('libsql');
    const db = new Database(process.argv[1]);
    db.exec('BEGIN IMMEDIATE');
    db.exec("UPDATE images SET updated_at = updated_at WHERE id = 'none'");
    process.stdout.write('locked\\n');
    process.stdin.once('data', () => { db.exec('COMMIT'); db.close(); process.exit(0); });`;
  const child = spawn(process.execPath, ['-e', code, path], { stdio: ['pipe', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    child.once('exit', (exitCode) => reject(new Error(`lock holder exited with ${exitCode}`)));
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    async release() {
      child.stdin.write('go\n');
      await exited;
    },
  };
}

describe('writes after SQLITE_BUSY', () => {
  test('a claim that failed on a locked database → after the lock is gone, the next claim and finish are committed for every connection', { timeout: 60_000 }, async () => {
    const path = join(workDir, 'busy.db');
    const db = await openDatabase(`file:${path}`);
    const images = createImagesRepository(db);
    const lifecycle = createImageLifecycle(images, { leaseSeconds: 60 });
    const id = randomUUID();
    await lifecycle.accept({ id, originalName: 'a.jpg', originalKey: `originals/${id}.jpg`, contentType: 'image/jpeg', sizeBytes: 1, createdAt: new Date().toISOString() });

    const lock = await holdWriteLock(path);
    await assert.rejects(lifecycle.claim(id, { messageId: 'm', receiveCount: 1 }), /SQLITE_BUSY|locked/);
    await assert.rejects(images.confirmJobSent(id, 1, new Date().toISOString()), /SQLITE_BUSY|locked/);
    await lock.release();

    const claim = await lifecycle.claim(id, { messageId: 'm', receiveCount: 2 });
    assert.equal(claim.outcome, 'claimed');
    const other = createClient({ url: `file:${path}`, intMode: 'number' });
    const seen = async (): Promise<unknown> => (await other.execute({ sql: 'SELECT status FROM images WHERE id = ?', args: [id] })).rows[0]?.status;
    assert.equal(await seen(), 'processing', 'the claim is committed');
    assert.ok(claim.outcome === 'claimed');
    assert.equal(await lifecycle.fail(id, claim.token, { reason: 'x', kind: 'permanent', processingTimeMs: null }), true);
    assert.equal(await seen(), 'failed', 'the finish is committed');
    const batched = await db.batch([{ sql: 'UPDATE images SET error = ? WHERE id = ?', args: ['batched', id] }], 'write');
    assert.equal(batched[0]?.rowsAffected, 1);
    other.close();
    db.close();
  });
});
