// Full-text search over images (GET /api/images?q=...): an SQLite FTS5 index
// of the file name, the caption and the camera make and model, kept in step
// by triggers like the stats counters, so whatever code path writes a row,
// the index changes in the same transaction.
//
// The index is keyed by a row of image_search_rows, not by the images table's
// own rowid: images has a TEXT primary key, so its rowid is not stable (VACUUM
// may renumber it, and the status-CHECK rebuild in schema.ts copies rows
// without it). image_search_rows has an INTEGER PRIMARY KEY, which nothing
// renumbers, and a unique image id for the triggers' look-ups.
import type { Transaction } from '@libsql/client';

/** The camera as one searchable string, from the served EXIF JSON; NULL when there is none or it is not JSON. */
const camera = (exif: string): string =>
  `CASE WHEN json_valid(${exif}) THEN nullif(trim(coalesce(json_extract(${exif}, '$.Make'), '') || ' ' || coalesce(json_extract(${exif}, '$.Model'), '')), '') END`;

const rowOf = (id: string): string => `(SELECT id FROM image_search_rows WHERE image_id = ${id})`;

const CREATE_STATEMENTS = [
  'CREATE TABLE IF NOT EXISTS image_search_rows (id INTEGER PRIMARY KEY, image_id TEXT NOT NULL UNIQUE)',
  // Prefix indexes of 2 and 3 characters: the gallery's search box asks for
  // prefixes ("cano" finds "Canon") as the person types.
  `CREATE VIRTUAL TABLE IF NOT EXISTS image_search USING fts5(
     image_id UNINDEXED, original_name, caption, camera,
     tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3'
   )`,
  `CREATE TRIGGER IF NOT EXISTS image_search_insert AFTER INSERT ON images BEGIN
     INSERT INTO image_search_rows (image_id) VALUES (NEW.id);
     INSERT INTO image_search (rowid, image_id, original_name, caption, camera)
       VALUES (${rowOf('NEW.id')}, NEW.id, NEW.original_name, NEW.caption, ${camera('NEW.exif')});
   END`,
  `CREATE TRIGGER IF NOT EXISTS image_search_delete AFTER DELETE ON images BEGIN
     DELETE FROM image_search WHERE rowid = ${rowOf('OLD.id')};
     DELETE FROM image_search_rows WHERE image_id = OLD.id;
   END`,
  // Claims, leases and retries rewrite other columns many times per image: only a change of the text moves the index.
  `CREATE TRIGGER IF NOT EXISTS image_search_update AFTER UPDATE OF original_name, caption, exif ON images
   WHEN OLD.original_name IS NOT NEW.original_name OR OLD.caption IS NOT NEW.caption OR OLD.exif IS NOT NEW.exif BEGIN
     UPDATE image_search SET original_name = NEW.original_name, caption = NEW.caption, camera = ${camera('NEW.exif')}
     WHERE rowid = ${rowOf('NEW.id')};
   END`,
  // GET /api/images?status=failed, newest first, without sorting every row of that status.
  'CREATE INDEX IF NOT EXISTS images_status_created_at ON images (status, created_at DESC, id DESC)',
];

// Run once, when the index is created: a database that already holds images
// becomes searchable in the same transaction that adds the triggers.
const BACKFILL_STATEMENTS = [
  'INSERT INTO image_search_rows (image_id) SELECT id FROM images WHERE id NOT IN (SELECT image_id FROM image_search_rows)',
  `INSERT INTO image_search (rowid, image_id, original_name, caption, camera)
   SELECT r.id, i.id, i.original_name, i.caption, ${camera('i.exif')}
   FROM images i JOIN image_search_rows r ON r.image_id = i.id`,
];

/**
 * Creates the search index, its triggers and its backfill in the caller's
 * write transaction; a no-op (one look at sqlite_master) once they exist.
 */
export async function migrateSearchIndex(tx: Transaction): Promise<void> {
  const existing = await tx.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'image_search'");
  const created = existing.rows.length === 0;
  for (const statement of CREATE_STATEMENTS) await tx.execute(statement);
  if (created) for (const statement of BACKFILL_STATEMENTS) await tx.execute(statement);
}

/** Words of a search as the index splits them: letters, digits and combining marks. */
const WORD = /[\p{L}\p{N}\p{M}]+/gu;

/**
 * An FTS5 query that finds every term (AND), each as a phrase of its words
 * with a prefix match on the last ("IMG_00" finds IMG_0042.jpg). Quoting every
 * word keeps the user's text from being read as FTS5 syntax (NEAR, OR, "-",
 * column filters). Null when the terms hold no word at all.
 */
export function searchMatchExpression(terms: readonly string[]): string | null {
  const phrases = terms.map((term) => term.match(WORD) ?? []).filter((words) => words.length > 0).map((words) => `"${words.join(' ')}"*`);
  return phrases.length === 0 ? null : phrases.join(' AND ');
}
