// The list's keyset pagination and the trigger-maintained stats counters,
// against a real libSQL file.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openDatabase } from '../../lib/db/client.ts';
import type { DatabaseClient } from '../../lib/db/client.ts';
import { aggregateStats, createImagesRepository } from '../../lib/db/images-repository.ts';
import type { ImageListItem, ImagesRepository, ImageStats, ListCursor } from '../../lib/db/images-repository.ts';
import { migrate } from '../../lib/db/schema.ts';
import { createImageLifecycle } from '../../lib/image-lifecycle.ts';

const workDir = mkdtempSync(join(tmpdir(), 'images-repository-test-'));
after(() => rmSync(workDir, { recursive: true, force: true }));

let dbCount = 0;
async function freshDatabase(): Promise<{ db: DatabaseClient; images: ImagesRepository }> {
  const db = await openDatabase(`file:${join(workDir, `db-${++dbCount}.db`)}`);
  return { db, images: createImagesRepository(db) };
}

/** Deterministic, so a failure reproduces. */
function prng(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

function newImage(createdAt: string, id = randomUUID()) {
  return { id, originalName: `${id}.jpg`, originalKey: `originals/${id}.jpg`, contentType: 'image/jpeg', sizeBytes: 1000, createdAt };
}

async function walk(images: ImagesRepository, limit: number): Promise<{ items: ImageListItem[]; pages: number }> {
  const items: ImageListItem[] = [];
  let after: ListCursor | null = null;
  let pages = 0;
  for (;;) {
    const page = await images.list({ limit, after });
    pages++;
    assert.ok(page.items.length <= limit, 'a page never exceeds its limit');
    items.push(...page.items);
    if (page.next === null) return { items, pages };
    assert.equal(page.items.length, limit, 'only the last page is short');
    after = page.next;
    assert.ok(pages < 10_000, 'pagination terminates');
  }
}

describe('list pagination', () => {
  const ROWS = 260;
  let images: ImagesRepository;
  let db: DatabaseClient;
  let expected: string[];

  before(async () => {
    ({ db, images } = await freshDatabase());
    const random = prng(42);
    // Only 13 distinct timestamps: pages boundaries fall inside runs of equal created_at.
    const rows = Array.from({ length: ROWS }, () => newImage(new Date(Date.UTC(2026, 0, 1, 12, 0, Math.floor(random() * 13))).toISOString()));
    for (const row of rows) await images.insertQueued(row);
    expected = rows
      .toSorted((a, b) => (a.createdAt === b.createdAt ? (a.id < b.id ? 1 : -1) : a.createdAt < b.createdAt ? 1 : -1))
      .map((row) => row.id);
  });
  after(() => db.close());

  for (const limit of [1, 7, 10, 100, ROWS, 1000]) {
    test(`limit ${limit} visits every row exactly once, newest first`, async () => {
      const { items, pages } = await walk(images, limit);
      assert.deepEqual(
        items.map((item) => item.id),
        expected,
      );
      assert.equal(pages, Math.max(1, Math.ceil(ROWS / limit)), 'no empty page after a full last page');
    });
  }

  test('a page carries the summary fields', async () => {
    const page = await images.list({ limit: 1, after: null });
    const [first] = page.items;
    assert.ok(first);
    assert.equal(first.id, expected[0]);
    assert.equal(first.status, 'queued');
    assert.equal(first.originalName, `${first.id}.jpg`);
    assert.equal(first.processedAt, null);
  });

  test('an empty table is one empty page', async () => {
    const empty = await freshDatabase();
    assert.deepEqual(await empty.images.list({ limit: 10, after: null }), { items: [], next: null });
    empty.db.close();
  });

  test('rows inserted while walking do not disturb the pages still to come', async () => {
    const first = await images.list({ limit: 50, after: null });
    assert.ok(first.next);
    // Newer than everything: lands before the cursor, never on a later page.
    await images.insertQueued(newImage('2027-01-01T00:00:00.000Z'));
    const rest: string[] = first.items.map((item) => item.id);
    let after: ListCursor | null = first.next;
    while (after) {
      const page = await images.list({ limit: 50, after });
      rest.push(...page.items.map((item) => item.id));
      after = page.next;
    }
    assert.deepEqual(rest, expected);
  });
});

describe('stats counters', () => {
  async function assertCountersMatch(db: DatabaseClient, images: ImagesRepository, label: string): Promise<ImageStats> {
    const counted = await images.stats();
    const recomputed = await aggregateStats(db);
    assert.equal(counted.total, recomputed.total, `${label}: total`);
    assert.equal(counted.success, recomputed.success, `${label}: success`);
    assert.equal(counted.failed, recomputed.failed, `${label}: failed`);
    if (recomputed.avgProcessingTimeMs === null) {
      assert.equal(counted.avgProcessingTimeMs, null, `${label}: average`);
    } else {
      assert.ok(counted.avgProcessingTimeMs !== null, `${label}: average present`);
      assert.ok(Math.abs(counted.avgProcessingTimeMs - recomputed.avgProcessingTimeMs) < 1e-6, `${label}: average ${counted.avgProcessingTimeMs} vs ${recomputed.avgProcessingTimeMs}`);
    }
    return counted;
  }

  test('a new database starts at zero', async () => {
    const { db, images } = await freshDatabase();
    assert.deepEqual(await images.stats(), { total: 0, success: 0, failed: 0, avgProcessingTimeMs: null });
    db.close();
  });

  test('counters equal a COUNT(*) recomputation after a mix of inserts, updates and deletes', async () => {
    const { db, images } = await freshDatabase();
    const lifecycle = createImageLifecycle(images, { leaseSeconds: 60 });
    const claim = async (id: string): Promise<string | null> => {
      const result = await lifecycle.claim(id, { messageId: randomUUID(), receiveCount: 1 });
      return result.outcome === 'claimed' ? result.token : null;
    };
    const random = prng(7);
    const ids: string[] = [];
    const now = (): string => new Date().toISOString();
    const pick = (): string | undefined => ids[Math.floor(random() * ids.length)];

    for (let step = 0; step < 600; step++) {
      const roll = random();
      const id = pick();
      if (roll < 0.3 || id === undefined) {
        const image = newImage(now());
        await images.insertQueued(image);
        ids.push(image.id);
      } else if (roll < 0.45) {
        await claim(id);
      } else if (roll < 0.6) {
        // The processor's path: claim, then finish.
        await claim(id);
        await db.execute({
          sql: `UPDATE images SET status = 'success', processing_time_ms = ?, processed_at = ?, updated_at = ? WHERE id = ? AND status = 'processing'`,
          args: [Math.round(random() * 5000) / 10, now(), now(), id],
        });
      } else if (roll < 0.7) {
        const token = await claim(id);
        if (token) await lifecycle.fail(id, token, { reason: 'broken', kind: 'permanent', processingTimeMs: random() < 0.5 ? null : 12.5 });
      } else if (roll < 0.74) {
        // Run a failed image again: failed -> queued.
        await lifecycle.requeue(id, 'any');
      } else if (roll < 0.8) {
        // Paths the repository does not offer: a status rewritten by hand, a time corrected, a success without a time.
        const status = ['queued', 'processing', 'success', 'failed'][Math.floor(random() * 4)] ?? 'queued';
        await db.execute({ sql: 'UPDATE images SET status = ? WHERE id = ?', args: [status, id] });
      } else if (roll < 0.84) {
        await db.execute({ sql: 'UPDATE images SET processing_time_ms = ? WHERE id = ?', args: [random() < 0.2 ? null : random() * 1000, id] });
      } else if (roll < 0.88) {
        await db.execute({ sql: 'UPDATE images SET updated_at = ?, error = ? WHERE id = ?', args: [now(), 'note', id] });
      } else {
        await images.delete(id);
        ids.splice(ids.indexOf(id), 1);
      }
      if (step % 50 === 0) await assertCountersMatch(db, images, `step ${step}`);
    }
    // Several rows at once, in one statement.
    await db.execute(`UPDATE images SET status = 'success', processing_time_ms = 100 WHERE status = 'failed'`);
    await assertCountersMatch(db, images, 'bulk update');
    await db.execute(`DELETE FROM images WHERE status = 'queued'`);
    const final = await assertCountersMatch(db, images, 'bulk delete');
    assert.ok(final.total > 0 && final.success > 0, 'the mix left rows to count');
    db.close();
  });

  test('a rolled-back write leaves the counters unchanged', async () => {
    const { db, images } = await freshDatabase();
    await images.insertQueued(newImage(new Date().toISOString()));
    const tx = await db.transaction('write');
    await tx.execute({ sql: `INSERT INTO images (id, original_name, status, created_at, updated_at, original_key, content_type, size_bytes) VALUES (?, 'x', 'success', 'now', 'now', 'k', 'image/png', 1)`, args: [randomUUID()] });
    await tx.rollback();
    assert.equal((await images.stats()).total, 1);
    await assertCountersMatch(db, images, 'after rollback');
    db.close();
  });

  test('counters are backfilled once from existing rows, and re-running the schema changes nothing', async () => {
    const { db, images } = await freshDatabase();
    for (let i = 0; i < 20; i++) {
      const image = newImage(new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString());
      await images.insertQueued(image);
      if (i % 3 === 0) await db.execute({ sql: `UPDATE images SET status = 'success', processing_time_ms = ? WHERE id = ?`, args: [i * 10, image.id] });
      if (i % 5 === 0) await db.execute({ sql: `UPDATE images SET status = 'failed' WHERE id = ?`, args: [image.id] });
    }
    // A database from before the counters existed: rows, no counters table.
    await db.batch(['DROP TRIGGER image_counters_insert', 'DROP TRIGGER image_counters_update', 'DROP TRIGGER image_counters_delete', 'DROP TABLE image_counters'], 'write');
    await migrate(db);
    const backfilled = await assertCountersMatch(db, images, 'backfill');
    assert.equal(backfilled.total, 20);
    await migrate(db);
    await migrate(db);
    assert.deepEqual(await images.stats(), backfilled);
    await images.insertQueued(newImage(new Date().toISOString()));
    await assertCountersMatch(db, images, 'after backfill, triggers still count');
    db.close();
  });
});
