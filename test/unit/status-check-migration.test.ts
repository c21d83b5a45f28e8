// The status CHECK of the images table gains `awaiting_upload` (direct
// uploads). SQLite cannot alter a CHECK, so lib/db/schema.ts rebuilds the
// table of an older file at cold start: these tests check that the rows,
// indexes, triggers and stats counters come through, that the new status
// counts only once its object lands, and that a second start does nothing.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import { createClient } from '@libsql/client';
import type { Client } from '@libsql/client';
import { openDatabase } from '../../lib/db/client.ts';
import { aggregateStats, createImagesRepository } from '../../lib/db/images-repository.ts';
import { createImageLifecycle } from '../../lib/image-lifecycle.ts';

const V1_SCHEMA = readFileSync(resolve(import.meta.dirname, '../fixtures/schema/images-v1.sql'), 'utf8')
  .split(/^---$/m)
  .map((statement) => statement.replace(/^--.*$/gm, '').trim())
  .filter(Boolean);

const workDir = mkdtempSync(join(tmpdir(), 'status-check-migration-test-'));
after(() => rmSync(workDir, { recursive: true, force: true }));

const AT = '2026-01-01T00:00:00.000Z';

async function schemaObjects(db: Client): Promise<Map<string, string>> {
  const rs = await db.execute("SELECT type, name, sql FROM sqlite_master WHERE tbl_name = 'images' AND sql IS NOT NULL ORDER BY name");
  return new Map(rs.rows.map((row) => [`${String(row.type)} ${String(row.name)}`, String(row.sql)]));
}

/** A first-release file with rows of every old status, plus an index and a trigger of someone's own. */
async function oldDatabase(name: string): Promise<{ url: string; ids: string[] }> {
  const url = `file:${join(workDir, name)}`;
  const db = createClient({ url });
  await db.execute('PRAGMA journal_mode = WAL');
  await db.batch(V1_SCHEMA, 'write');
  const ids: string[] = [];
  for (const [status, ms] of [['queued', null], ['processing', null], ['success', 80], ['success', 120], ['failed', null]] as const) {
    const id = randomUUID();
    ids.push(id);
    await db.execute({
      sql: `INSERT INTO images (id, original_name, status, created_at, updated_at, original_key, content_type, size_bytes, processing_time_ms, error)
            VALUES (?, 'a.jpg', ?, ?, ?, ?, 'image/jpeg', 10, ?, ?)`,
      args: [id, status, AT, AT, `originals/${id}.jpg`, ms, status === 'failed' ? 'Image is corrupt or truncated' : null],
    });
  }
  await db.execute('CREATE INDEX images_by_name ON images (original_name)');
  await db.execute('CREATE TABLE audit (id TEXT)');
  await db.execute('CREATE TRIGGER images_audit AFTER DELETE ON images BEGIN INSERT INTO audit VALUES (OLD.id); END');
  db.close();
  return { url, ids };
}

describe('status CHECK widened for awaiting_upload', () => {
  test('old file → table rebuilt with the new CHECK; every row, index and trigger kept; counters unchanged', async () => {
    const { url, ids } = await oldDatabase('old.db');
    const raw = createClient({ url });
    const rowsBefore = (await raw.execute('SELECT * FROM images ORDER BY id')).rows;
    raw.close();

    const db = await openDatabase(url);
    const objects = await schemaObjects(db);
    assert.match(objects.get('table images') ?? '', /CHECK \(status IN \('awaiting_upload', 'queued', 'processing', 'success', 'failed'\)\)/);
    assert.match(objects.get('table images') ?? '', /caption_status IN \('pending', 'done', 'failed', 'off'\)/, 'the other CHECKs are untouched');
    for (const name of [
      'index images_created_at',
      'index images_status',
      'index images_status_updated_at',
      'index images_unsent_jobs',
      'index images_leases',
      'index images_failed',
      'index images_awaiting_upload',
      'index images_by_name',
      'trigger image_counters_insert',
      'trigger image_counters_update',
      'trigger image_counters_delete',
      'trigger idempotency_keys_image_deleted',
      'trigger images_audit',
    ]) {
      assert.ok(objects.has(name), `${name} is missing after the rebuild`);
    }
    assert.equal((await db.execute("SELECT count(*) AS n FROM sqlite_master WHERE name = 'images_rebuilt'")).rows[0]?.n, 0);

    const rowsAfter = (await db.execute('SELECT * FROM images ORDER BY id')).rows;
    assert.equal(rowsAfter.length, ids.length);
    for (const [i, before] of rowsBefore.entries()) {
      for (const [column, value] of Object.entries(before)) assert.deepEqual(rowsAfter[i]?.[column], value, column);
    }
    const images = createImagesRepository(db);
    assert.deepEqual(await images.stats(), { total: 5, success: 2, failed: 1, avgProcessingTimeMs: 100 });
    assert.deepEqual(await images.stats(), await aggregateStats(db));
    db.close();
  });

  test('a second cold start leaves the table alone (same root page, same SQL)', async () => {
    const { url } = await oldDatabase('twice.db');
    const first = await openDatabase(url);
    const page = async (db: Client): Promise<unknown> => (await db.execute("SELECT rootpage, sql FROM sqlite_master WHERE name = 'images'")).rows[0];
    const before = await page(first);
    first.close();
    const second = await openDatabase(url);
    assert.deepEqual(await page(second), before);
    second.close();
  });

  test('counters on the rebuilt table: an awaiting_upload row counts nowhere until it lands, its removal changes nothing, the triggers of the old file are gone', async () => {
    const { url } = await oldDatabase('counters.db');
    const db = await openDatabase(url);
    const images = createImagesRepository(db);
    const lifecycle = createImageLifecycle(images, { leaseSeconds: 60, uploadGraceSeconds: 0 });
    const start = await images.stats();
    const future = new Date(Date.now() + 3_600_000).toISOString();
    const past = new Date(Date.now() - 1000).toISOString();
    const waiting = randomUUID();
    const unused = randomUUID();
    const upload = (id: string, expires: string) =>
      lifecycle.createDirectUpload({ id, originalName: 'd.jpg', originalKey: `uploads/${id}`, contentType: 'image/jpeg', sizeBytes: 10, createdAt: AT, uploadExpiresAt: expires });
    await upload(waiting, future);
    await upload(unused, past);
    assert.deepEqual(await images.stats(), start);

    assert.equal(await lifecycle.expireUnused(waiting), false, 'not expired yet');
    assert.equal(await lifecycle.expireUnused(unused), true);
    assert.deepEqual(await images.stats(), start);
    assert.equal((await db.execute({ sql: 'SELECT count(*) AS n FROM audit WHERE id = ?', args: [unused] })).rows[0]?.n, 1, 'the kept trigger fires');

    const landed = await lifecycle.objectLanded(waiting, `uploads/${waiting}`);
    assert.equal(landed.outcome, 'landed');
    assert.equal((await images.stats()).total, start.total + 1);
    const claim = await lifecycle.claim(waiting, { messageId: 'm', receiveCount: 1 });
    assert.equal(claim.outcome, 'claimed');
    if (claim.outcome === 'claimed') {
      await lifecycle.fail(waiting, claim.token, { reason: 'Unsupported file type. Use JPG or PNG.', kind: 'permanent', processingTimeMs: 1 });
    }
    assert.deepEqual(await images.stats(), { ...start, total: start.total + 1, failed: start.failed + 1 });
    assert.deepEqual(await images.stats(), await aggregateStats(db));
    db.close();
  });

  test('a new database accepts awaiting_upload from the first start', async () => {
    const db = await openDatabase(`file:${join(workDir, 'fresh.db')}`);
    const id = randomUUID();
    const row = await createImagesRepository(db).insertAwaitingUpload({
      id,
      originalName: 'f.jpg',
      originalKey: `uploads/${id}`,
      contentType: 'image/png',
      sizeBytes: 5,
      createdAt: AT,
      uploadExpiresAt: AT,
    });
    assert.equal(row.status, 'awaiting_upload');
    assert.equal(row.uploadExpiresAt, AT);
    await assert.rejects(db.execute({ sql: "UPDATE images SET status = 'bogus' WHERE id = ?", args: [id] }), /CHECK constraint failed/);
    db.close();
  });
});
