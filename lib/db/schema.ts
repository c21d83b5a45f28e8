import type { Client } from '@libsql/client';

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
  // trigger (recursive_triggers is off); use an upsert instead.
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
       total = total + 1,
       success = success + (NEW.status = 'success'),
       failed = failed + (NEW.status = 'failed'),
       success_time_sum = success_time_sum + iif(NEW.status = 'success', coalesce(NEW.processing_time_ms, 0), 0),
       success_time_count = success_time_count + (NEW.status = 'success' AND NEW.processing_time_ms IS NOT NULL)
     WHERE id = 1;
   END`,
  `CREATE TRIGGER IF NOT EXISTS image_counters_delete AFTER DELETE ON images BEGIN
     UPDATE image_counters SET
       total = total - 1,
       success = success - (OLD.status = 'success'),
       failed = failed - (OLD.status = 'failed'),
       success_time_sum = success_time_sum - iif(OLD.status = 'success', coalesce(OLD.processing_time_ms, 0), 0),
       success_time_count = success_time_count - (OLD.status = 'success' AND OLD.processing_time_ms IS NOT NULL)
     WHERE id = 1;
   END`,
  // Moves between queued and processing change no counter: skipped, so claims
  // do not rewrite the counters row.
  `CREATE TRIGGER IF NOT EXISTS image_counters_update AFTER UPDATE OF status, processing_time_ms ON images
   WHEN OLD.status IN ('success', 'failed') OR NEW.status IN ('success', 'failed') BEGIN
     UPDATE image_counters SET
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
          (SELECT count(*) FROM images),
          (SELECT count(*) FROM images WHERE status = 'success'),
          (SELECT count(*) FROM images WHERE status = 'failed'),
          (SELECT coalesce(sum(processing_time_ms), 0) FROM images WHERE status = 'success'),
          (SELECT count(processing_time_ms) FROM images WHERE status = 'success')
   WHERE NOT EXISTS (SELECT 1 FROM image_counters)`,
];

export async function migrate(client: Client): Promise<void> {
  await client.batch(STATEMENTS, 'write');
}
