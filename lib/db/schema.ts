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
     processing_time_ms REAL,
     error              TEXT,
     attempts           INTEGER NOT NULL DEFAULT 0
   )`,
  'CREATE INDEX IF NOT EXISTS images_created_at ON images (created_at DESC, id DESC)',
  'CREATE INDEX IF NOT EXISTS images_status ON images (status, processing_time_ms)',
];

export async function migrate(client: Client): Promise<void> {
  await client.batch(STATEMENTS, 'write');
}
