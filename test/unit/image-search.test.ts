// The list's status filter and full-text search (FTS5 kept in step by
// triggers), and the delete that DELETE /api/images/{id} uses, against a real
// libSQL file; the search index built for a database made before it existed.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createClient } from '@libsql/client';
import { openDatabase } from '../../lib/db/client.ts';
import type { DatabaseClient } from '../../lib/db/client.ts';
import { aggregateStats, createImagesRepository } from '../../lib/db/images-repository.ts';
import type { ImagesRepository, ProcessedImage } from '../../lib/db/images-repository.ts';
import { searchMatchExpression } from '../../lib/db/search-schema.ts';
import { BadRequestError } from '../../lib/errors.ts';
import { createImageLifecycle } from '../../lib/image-lifecycle.ts';
import type { ImageLifecycle } from '../../lib/image-lifecycle.ts';
import { listImages } from '../../lib/image-queries.ts';

const workDir = mkdtempSync(join(tmpdir(), 'image-search-test-'));
after(() => rmSync(workDir, { recursive: true, force: true }));

let dbCount = 0;
async function freshDatabase(): Promise<{ db: DatabaseClient; images: ImagesRepository; lifecycle: ImageLifecycle }> {
  const db = await openDatabase(`file:${join(workDir, `db-${++dbCount}.db`)}`);
  const images = createImagesRepository(db);
  return { db, images, lifecycle: createImageLifecycle(images, { leaseSeconds: 60 }) };
}

let clock = Date.parse('2026-03-01T00:00:00.000Z');
function newImage(name: string) {
  const id = randomUUID();
  clock += 1000;
  return { id, originalName: name, originalKey: `originals/${id}.jpg`, contentType: 'image/jpeg', sizeBytes: 1000, createdAt: new Date(clock).toISOString() };
}

function processed(caption: string | null, exif: Record<string, unknown> | null): ProcessedImage {
  return {
    width: 10,
    height: 10,
    format: 'jpg',
    exif: exif === null ? null : JSON.stringify(exif),
    caption,
    captionStatus: caption === null ? 'off' : 'done',
    captionError: null,
    captionAttempts: caption === null ? 0 : 1,
    processingTimeMs: 42,
    processedAt: new Date(clock).toISOString(),
  };
}

/** An image through upload, claim and success (or failure), as the pipeline moves it. */
async function addImage(lifecycle: ImageLifecycle, name: string, outcome: { caption?: string | null; exif?: Record<string, unknown> | null; fail?: string } = {}): Promise<string> {
  const record = await lifecycle.accept(newImage(name));
  const claim = await lifecycle.claim(record.id, { messageId: randomUUID(), receiveCount: 1 });
  assert.equal(claim.outcome, 'claimed');
  if (claim.outcome !== 'claimed') throw new Error('not claimed');
  if (outcome.fail !== undefined) {
    assert.ok(await lifecycle.fail(record.id, claim.token, { reason: outcome.fail, kind: 'permanent', processingTimeMs: 5 }));
  } else {
    assert.ok(await lifecycle.succeed(record.id, claim.token, processed(outcome.caption ?? null, outcome.exif ?? null)));
  }
  return record.id;
}

async function searchIds(images: ImagesRepository, q: string, extra: { status?: string; limit?: string } = {}): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 100; pages++) {
    const page = await listImages(images, { q, ...extra, ...(cursor === undefined ? {} : { cursor }) });
    ids.push(...page.items.map((item) => item.id));
    if (page.nextCursor === null) return ids;
    cursor = page.nextCursor;
  }
  throw new Error('pagination did not end');
}

describe('search and status filter', () => {
  let images: ImagesRepository;
  let lifecycle: ImageLifecycle;
  let db: DatabaseClient;
  const ids: Record<string, string> = {};

  before(async () => {
    ({ images, lifecycle, db } = await freshDatabase());
    ids.canon = await addImage(lifecycle, 'IMG_0042.jpg', { caption: 'a dog running on the beach', exif: { Make: 'Canon', Model: 'Canon EOS 40D' } });
    ids.nikon = await addImage(lifecycle, 'DSCN0010.jpg', { caption: 'a church tower under a blue sky', exif: { Make: 'NIKON', Model: 'COOLPIX P6000' } });
    ids.cafe = await addImage(lifecycle, 'café-terrace.png', { caption: 'tables outside a café' });
    ids.broken = await addImage(lifecycle, 'broken-dog.jpg', { fail: 'The file is not a valid JPEG or PNG' });
    ids.queued = (await lifecycle.accept(newImage('waiting-dog.jpg'))).id;
  });

  test('words in the caption, the file name or the camera find the image; every word must match', async () => {
    assert.deepEqual(await searchIds(images, 'beach'), [ids.canon]);
    assert.deepEqual(await searchIds(images, 'canon'), [ids.canon]);
    assert.deepEqual(await searchIds(images, 'coolpix'), [ids.nikon]);
    assert.deepEqual(await searchIds(images, 'DSCN0010'), [ids.nikon]);
    assert.deepEqual(await searchIds(images, 'IMG_0042.jpg'), [ids.canon]);
    assert.deepEqual(await searchIds(images, 'dog beach'), [ids.canon]);
    assert.deepEqual(await searchIds(images, 'dog church'), []);
    assert.deepEqual(await searchIds(images, 'dog'), [ids.queued, ids.broken, ids.canon], 'newest first, every status');
  });

  test('prefixes, case and accents: "cano" finds Canon, "CAFE" finds café', async () => {
    assert.deepEqual(await searchIds(images, 'cano'), [ids.canon]);
    assert.deepEqual(await searchIds(images, 'CAFE'), [ids.cafe]);
    assert.deepEqual(await searchIds(images, 'IMG_00'), [ids.canon]);
  });

  test('FTS5 syntax in q is searched for as words, never run: quotes, NEAR, OR, column filters, stars', async () => {
    for (const q of ['"dog', 'dog OR church', 'NEAR(dog beach)', 'caption:dog', 'dog*', '-dog', 'dog AND', '(dog']) {
      await assert.doesNotReject(searchIds(images, q), q);
    }
    assert.deepEqual(await searchIds(images, 'caption:church'), [], '"caption" is a word here, not a column');
    assert.deepEqual(await searchIds(images, 'church OR dog'), [], '"OR" is a word here');
    assert.equal(searchMatchExpression(['a"b', 'c*']), '"a b"* AND "c"*');
    assert.equal(searchMatchExpression(['!!!', '...']), null);
  });

  test('status filter alone and with a search; blank q lists everything', async () => {
    assert.deepEqual((await listImages(images, { status: 'failed' })).items.map((item) => item.id), [ids.broken]);
    assert.deepEqual((await listImages(images, { status: 'queued' })).items.map((item) => item.id), [ids.queued]);
    assert.deepEqual(await searchIds(images, 'dog', { status: 'success' }), [ids.canon]);
    assert.equal((await listImages(images, { q: '   ' })).items.length, 5);
    assert.equal((await listImages(images, { q: '   ' })).q, undefined);
  });

  test('bad status, punctuation-only q, a q too long or with too many words: 400', async () => {
    for (const query of [{ status: 'done' }, { status: '' }, { q: '!!!' }, { q: 'x'.repeat(201) }, { q: 'a b c d e f g h i j k' }]) {
      await assert.rejects(listImages(images, query), BadRequestError, JSON.stringify(query));
    }
  });

  test('search pages through the cursor: every match once, newest first, for page sizes 1 to 4', async () => {
    const many: string[] = [];
    for (let i = 0; i < 9; i++) many.unshift(await addImage(lifecycle, `harbour-${i}.jpg`, { caption: `boats in a harbour number ${i}` }));
    for (const limit of ['1', '2', '3', '4']) assert.deepEqual(await searchIds(images, 'harbour', { limit }), many, `limit ${limit}`);
  });

  test('the index follows the row: a caption that arrives later, a renamed file, a deleted row', async () => {
    const id = await addImage(lifecycle, 'later.jpg', { caption: null });
    assert.deepEqual(await searchIds(images, 'lighthouse'), []);
    await db.execute({ sql: "UPDATE images SET caption = 'a lighthouse at dusk' WHERE id = ?", args: [id] });
    assert.deepEqual(await searchIds(images, 'lighthouse'), [id]);
    await db.execute({ sql: "UPDATE images SET original_name = 'renamed.jpg' WHERE id = ?", args: [id] });
    assert.deepEqual(await searchIds(images, 'later'), []);
    assert.deepEqual(await searchIds(images, 'renamed'), [id]);
    assert.ok(await images.deleteUnlessProcessing(id, new Date().toISOString()));
    assert.deepEqual(await searchIds(images, 'lighthouse'), []);
    const leftovers = await db.execute({ sql: 'SELECT count(*) AS n FROM image_search_rows WHERE image_id = ?', args: [id] });
    assert.equal(Number(leftovers.rows[0]?.n), 0);
  });
});

describe('deleteUnlessProcessing', () => {
  test('removes success, failed and queued rows with their counts; refuses a row under a live lease; an unknown id changes nothing', async () => {
    const { images, lifecycle, db } = await freshDatabase();
    const success = await addImage(lifecycle, 'a.jpg', { caption: 'x' });
    const failed = await addImage(lifecycle, 'b.jpg', { fail: 'corrupt' });
    const queued = (await lifecycle.accept(newImage('c.jpg'))).id;
    const busy = (await lifecycle.accept(newImage('d.jpg'))).id;
    assert.equal((await lifecycle.claim(busy, { messageId: 'm', receiveCount: 1 })).outcome, 'claimed');
    const now = new Date().toISOString();

    assert.equal(await images.deleteUnlessProcessing(busy, now), false);
    for (const id of [success, failed, queued]) assert.ok(await images.deleteUnlessProcessing(id, now));
    assert.equal(await images.deleteUnlessProcessing(success, now), false);
    assert.equal(await images.deleteUnlessProcessing(randomUUID(), now), false);
    assert.deepEqual(await images.stats(), { total: 1, success: 0, failed: 0, avgProcessingTimeMs: null });
    assert.deepEqual(await images.stats(), await aggregateStats(db));
    // Once the lease has run out (the processor died), the row may go.
    const later = new Date(Date.now() + 120_000).toISOString();
    assert.ok(await images.deleteUnlessProcessing(busy, later));
    assert.equal((await images.stats()).total, 0);
  });
});

describe('search index on a database made before it existed', () => {
  test('the first cold start builds it from the rows already there; the next ones leave it alone', async () => {
    const url = `file:${join(workDir, 'legacy.db')}`;
    const legacy = createClient({ url });
    const v1 = readFileSync(resolve(import.meta.dirname, '../fixtures/schema/images-v1.sql'), 'utf8')
      .split(/^---$/m)
      .map((statement) => statement.replace(/^--.*$/gm, '').trim())
      .filter(Boolean);
    await legacy.batch(v1, 'write');
    const ids = [randomUUID(), randomUUID()];
    await legacy.execute({
      sql: `INSERT INTO images (id, original_name, status, created_at, updated_at, original_key, content_type, size_bytes, caption, exif, processing_time_ms)
            VALUES (?, 'old-harbour.jpg', 'success', '2025-01-01T00:00:00.000Z', '2025-01-01T00:00:00.000Z', 'originals/a.jpg', 'image/jpeg', 10,
                    'fishing boats at dawn', '{"Make":"FUJIFILM","Model":"X-T30"}', 12)`,
      args: [ids[0] ?? ''],
    });
    await legacy.execute({
      sql: `INSERT INTO images (id, original_name, status, created_at, updated_at, original_key, content_type, size_bytes, exif)
            VALUES (?, 'scan.png', 'failed', '2025-01-02T00:00:00.000Z', '2025-01-02T00:00:00.000Z', 'originals/b.png', 'image/png', 10, 'not json')`,
      args: [ids[1] ?? ''],
    });
    legacy.close();

    for (let start = 0; start < 2; start++) {
      const db = await openDatabase(url);
      const images = createImagesRepository(db);
      assert.deepEqual(await searchIds(images, 'fujifilm boats'), [ids[0]], `start ${start}`);
      assert.deepEqual(await searchIds(images, 'scan'), [ids[1]], `start ${start}`);
      const rows = await db.execute('SELECT count(*) AS n FROM image_search_rows');
      assert.equal(Number(rows.rows[0]?.n), 2, 'backfilled once');
      db.close();
    }
  });
});
