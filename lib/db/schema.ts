import type { Client, Transaction } from '@libsql/client';
import { API_KEYS_STATEMENTS } from './api-keys-schema.ts';
import { migrateSearchIndex } from './search-schema.ts';

// Idempotent DDL, run at every cold start: cheap (IF NOT EXISTS) and it keeps a
// fresh libSQL server or file usable without a separate migration step.
const STATEMENTS = [
  `CREATE TABLE IF NOT EXISTS images (
     id                 TEXT PRIMARY KEY,
     original_name      TEXT NOT NULL,
     status             TEXT NOT NULL CHECK (status IN ('queued', 'processing', 'success', 'failed')),
     created_at         TEXT NOT NULL,
     updated_at         TEXT NOT NULL,
     processed_at       TEXT,
     original_key       TEXT NOT NULL,
     content_type       TEXT NOT NULL,
     size_bytes         INTEGER NOT NULL,
     width              INTEGER,
     height             INTEGER,
     format             TEXT,
     exif               TEXT,
     caption            TEXT,
     caption_status     TEXT NOT NULL DEFAULT 'pending'
                        CHECK (caption_status IN ('pending', 'done', 'failed', 'off')),
     caption_error      TEXT,
     caption_attempts   INTEGER NOT NULL DEFAULT 0,
     processing_time_ms REAL,
     error              TEXT,
     attempts           INTEGER NOT NULL DEFAULT 0
   )`,
  'CREATE INDEX IF NOT EXISTS images_created_at ON images (created_at DESC, id DESC)',
  'CREATE INDEX IF NOT EXISTS images_status ON images (status, processing_time_ms)',
  // The sweeper's look-up of rows stuck in queued/processing.
  'CREATE INDEX IF NOT EXISTS images_status_updated_at ON images (status, updated_at)',
  // /api/stats reads one row instead of aggregating the table: counters kept
  // by triggers, so they change in the same transaction as the row whatever
  // code path writes it. INSERT OR REPLACE on images would bypass the delete
  // trigger (recursive_triggers is off); use an upsert instead. A row
  // awaiting its direct upload is not an image yet: it counts from the moment
  // its object lands (awaiting_upload -> queued).
  `CREATE TABLE IF NOT EXISTS image_counters (
     id                 INTEGER PRIMARY KEY CHECK (id = 1),
     total              INTEGER NOT NULL,
     success            INTEGER NOT NULL,
     failed             INTEGER NOT NULL,
     success_time_sum   REAL NOT NULL,
     success_time_count INTEGER NOT NULL
   )`,
  `CREATE TRIGGER IF NOT EXISTS image_counters_insert AFTER INSERT ON images BEGIN
     UPDATE image_counters SET
       total = total + (NEW.status <> 'awaiting_upload'),
       success = success + (NEW.status = 'success'),
       failed = failed + (NEW.status = 'failed'),
       success_time_sum = success_time_sum + iif(NEW.status = 'success', coalesce(NEW.processing_time_ms, 0), 0),
       success_time_count = success_time_count + (NEW.status = 'success' AND NEW.processing_time_ms IS NOT NULL)
     WHERE id = 1;
   END`,
  `CREATE TRIGGER IF NOT EXISTS image_counters_delete AFTER DELETE ON images BEGIN
     UPDATE image_counters SET
       total = total - (OLD.status <> 'awaiting_upload'),
       success = success - (OLD.status = 'success'),
       failed = failed - (OLD.status = 'failed'),
       success_time_sum = success_time_sum - iif(OLD.status = 'success', coalesce(OLD.processing_time_ms, 0), 0),
       success_time_count = success_time_count - (OLD.status = 'success' AND OLD.processing_time_ms IS NOT NULL)
     WHERE id = 1;
   END`,
  // Moves between queued and processing change no counter: skipped, so claims
  // do not rewrite the counters row.
  `CREATE TRIGGER IF NOT EXISTS image_counters_update AFTER UPDATE OF status, processing_time_ms ON images
   WHEN OLD.status IN ('success', 'failed', 'awaiting_upload') OR NEW.status IN ('success', 'failed', 'awaiting_upload') BEGIN
     UPDATE image_counters SET
       total = total + (NEW.status <> 'awaiting_upload') - (OLD.status <> 'awaiting_upload'),
       success = success + (NEW.status = 'success') - (OLD.status = 'success'),
       failed = failed + (NEW.status = 'failed') - (OLD.status = 'failed'),
       success_time_sum = success_time_sum
         + iif(NEW.status = 'success', coalesce(NEW.processing_time_ms, 0), 0)
         - iif(OLD.status = 'success', coalesce(OLD.processing_time_ms, 0), 0),
       success_time_count = success_time_count
         + (NEW.status = 'success' AND NEW.processing_time_ms IS NOT NULL)
         - (OLD.status = 'success' AND OLD.processing_time_ms IS NOT NULL)
     WHERE id = 1;
   END`,
  // Backfill once, in the same transaction as the triggers: a database that
  // already holds images starts with the right counts. Scalar subqueries on a
  // constant row, not an aggregate FROM images: SQLite then checks the guard
  // first and skips the scans at every later cold start (an aggregate in FROM
  // is computed before the WHERE, about 15 ms per 100,000 rows).
  `INSERT OR IGNORE INTO image_counters (id, total, success, failed, success_time_sum, success_time_count)
   SELECT 1,
          (SELECT count(*) FROM images WHERE status <> 'awaiting_upload'),
          (SELECT count(*) FROM images WHERE status = 'success'),
          (SELECT count(*) FROM images WHERE status = 'failed'),
          (SELECT coalesce(sum(processing_time_ms), 0) FROM images WHERE status = 'success'),
          (SELECT count(processing_time_ms) FROM images WHERE status = 'success')
   WHERE NOT EXISTS (SELECT 1 FROM image_counters)`,
  // Idempotency-Key of POST /api/images: a retried request with the same key
  // answers the image the first one created. Keys expire after 24 h (the
  // sweeper deletes them); an image deleted by an upload's rollback takes its
  // key with it, so a retry of a failed request starts afresh.
  `CREATE TABLE IF NOT EXISTS idempotency_keys (
     key          TEXT PRIMARY KEY,
     request_hash TEXT NOT NULL,
     image_id     TEXT NOT NULL,
     created_at   TEXT NOT NULL
   )`,
  'CREATE INDEX IF NOT EXISTS idempotency_keys_created_at ON idempotency_keys (created_at)',
  'CREATE INDEX IF NOT EXISTS idempotency_keys_image_id ON idempotency_keys (image_id)',
  `CREATE TRIGGER IF NOT EXISTS idempotency_keys_image_deleted AFTER DELETE ON images BEGIN
     DELETE FROM idempotency_keys WHERE image_id = OLD.id;
   END`,
  ...API_KEYS_STATEMENTS,
];

/**
 * Columns added after the first release, in order. A database file created
 * by an earlier version gets them with ALTER TABLE at cold start, and so does
 * a new one (the CREATE TABLE above stays the first release's), so there is
 * one path to test. What each column means: lib/image-lifecycle.ts.
 */
const ADDED_COLUMNS: Array<{ name: string; definition: string; backfill?: string }> = [
  {
    name: 'failure_kind',
    definition: "TEXT CHECK (failure_kind IN ('permanent', 'transient'))",
    // Rows failed by an earlier version: its transient reasons began with these
    // words, so an outage's victims become eligible for `npm run redrive`.
    backfill: `UPDATE images SET failure_kind = CASE
                 WHEN error LIKE 'Processing failed after %' OR error LIKE 'Processing did not finish%' THEN 'transient'
                 ELSE 'permanent' END
               WHERE status = 'failed'`,
  },
  { name: 'generation', definition: 'INTEGER NOT NULL DEFAULT 1' },
  // Left NULL on existing rows: a row still `queued` from an earlier version
  // cannot prove its message was sent, so the sweeper sends it once more
  // (a duplicate is skipped by the lease).
  { name: 'job_sent_at', definition: 'TEXT' },
  { name: 'lease_token', definition: 'TEXT' },
  { name: 'lease_message_id', definition: 'TEXT' },
  { name: 'lease_receive_count', definition: 'INTEGER' },
  { name: 'lease_expires_at', definition: 'TEXT' },
  { name: 'caption_job_sent_at', definition: 'TEXT' },
  // When a direct upload's presigned POST expires (NULL for uploads through the API).
  { name: 'upload_expires_at', definition: 'TEXT' },
  // The raw text of the last error (service messages, hosts, ARNs): for the
  // log and the operator, never served. `error` keeps the sentence for people.
  // Rows an earlier version failed for a transient cause carried the raw text
  // in `error`: it moves here and `error` gets the sentence.
  {
    name: 'error_detail',
    definition: 'TEXT',
    backfill: `UPDATE images SET error_detail = error,
                 error = 'Processing failed: a service it depends on was unavailable. The image itself may be fine; run it again with POST /api/images/' || id || '/reprocess.'
               WHERE status = 'failed' AND failure_kind = 'transient'`,
  },
];

/** Indexes over the added columns, created once they exist. */
const ADDED_INDEXES = [
  // The sweeper's look-ups: jobs whose send was never confirmed, leases that
  // ran out, pending captions with no job scheduled.
  "CREATE INDEX IF NOT EXISTS images_unsent_jobs ON images (updated_at) WHERE status = 'queued' AND job_sent_at IS NULL",
  "CREATE INDEX IF NOT EXISTS images_leases ON images (lease_expires_at) WHERE status = 'processing'",
  `CREATE INDEX IF NOT EXISTS images_unscheduled_captions ON images (updated_at)
   WHERE status = 'success' AND caption_status = 'pending' AND caption_job_sent_at IS NULL`,
  // The redrive's look-up of failed rows by cause and time.
  "CREATE INDEX IF NOT EXISTS images_failed ON images (failure_kind, processed_at) WHERE status = 'failed'",
  // The sweeper's look-up of direct uploads never made.
  "CREATE INDEX IF NOT EXISTS images_awaiting_upload ON images (upload_expires_at) WHERE status = 'awaiting_upload'",
];

/** Every status lib/image-lifecycle.ts knows; the first release's CHECK allowed the last four. */
const STATUS_CHECK = "CHECK (status IN ('awaiting_upload', 'queued', 'processing', 'success', 'failed'))";
const ANY_STATUS_CHECK = /CHECK\s*\(\s*status\s+IN\s*\([^)]*\)\s*\)/i;
const IMAGES_TABLE_NAME = /^CREATE TABLE\s+(?:IF NOT EXISTS\s+)?(?:"images"|`images`|\[images\]|images)(?=\s*\()/i;

export async function migrate(client: Client): Promise<void> {
  await client.batch(STATEMENTS, 'write');
  // In a write transaction: several Lambdas starting at once against the same
  // database take turns, and the second finds the columns already there.
  const tx = await client.transaction('write');
  try {
    const info = await tx.execute('PRAGMA table_info(images)');
    const existing = new Set(info.rows.map((row) => String(row.name)));
    for (const column of ADDED_COLUMNS) {
      if (existing.has(column.name)) continue;
      await tx.execute(`ALTER TABLE images ADD COLUMN ${column.name} ${column.definition}`);
      if (column.backfill) await tx.execute(column.backfill);
    }
    for (const statement of ADDED_INDEXES) await tx.execute(statement);
    await widenStatusCheck(tx);
    // After the rebuild, so the index's backfill reads the table in its final form.
    await migrateSearchIndex(tx);
    await tx.commit();
  } finally {
    tx.close();
  }
}

/**
 * SQLite cannot alter a CHECK constraint, so a table whose status CHECK
 * predates a status is rebuilt under the current one, in the caller's
 * transaction: the same columns (the stored CREATE TABLE with only the CHECK
 * replaced, so added columns stay), the same rows, then its indexes and
 * triggers again. The counter triggers are created in their current
 * definitions; any other index or trigger the table had is recreated as it
 * was. Copying the rows fires no trigger, so the counters stay as they were.
 * Cheap once done: one look at sqlite_master per cold start.
 */
async function widenStatusCheck(tx: Transaction): Promise<void> {
  const table = await tx.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'images'");
  const createSql = String(table.rows[0]?.sql ?? '');
  if (createSql.includes(STATUS_CHECK)) return;
  if (!ANY_STATUS_CHECK.test(createSql) || !IMAGES_TABLE_NAME.test(createSql)) {
    throw new Error(`images table not in a form this migration knows (no status CHECK found): ${createSql.slice(0, 200)}`);
  }
  const rebuilt = createSql.replace(ANY_STATUS_CHECK, STATUS_CHECK).replace(IMAGES_TABLE_NAME, 'CREATE TABLE images_rebuilt');
  const attached = await tx.execute(
    "SELECT name, sql FROM sqlite_master WHERE tbl_name = 'images' AND type IN ('index', 'trigger') AND sql IS NOT NULL",
  );
  await tx.execute('DROP TABLE IF EXISTS images_rebuilt');
  await tx.execute(rebuilt);
  await tx.execute('INSERT INTO images_rebuilt SELECT * FROM images');
  // Its triggers go with it, before its rows (SQLite drops them first), so no counter moves.
  await tx.execute('DROP TABLE images');
  await tx.execute('ALTER TABLE images_rebuilt RENAME TO images');
  for (const statement of [...STATEMENTS, ...ADDED_INDEXES]) {
    if (/^\s*CREATE (?:INDEX|TRIGGER) IF NOT EXISTS/i.test(statement)) await tx.execute(statement);
  }
  const present = new Set(
    (await tx.execute("SELECT name FROM sqlite_master WHERE type IN ('index', 'trigger')")).rows.map((row) => String(row.name)),
  );
  for (const row of attached.rows) {
    if (!present.has(String(row.name))) await tx.execute(String(row.sql));
  }
}
