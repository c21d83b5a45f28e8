// All SQL about images lives here.
import type { Client, Row } from '@libsql/client';
import type { ImageFormat } from '../images/sniff.ts';

export type ImageStatus = 'queued' | 'processing' | 'success' | 'failed';
export type CaptionStatus = 'pending' | 'done' | 'failed' | 'off';

export interface ImageRecord {
  id: string;
  originalName: string;
  status: ImageStatus;
  createdAt: string;
  processedAt: string | null;
  originalKey: string;
  contentType: string;
  sizeBytes: number;
  width: number | null;
  height: number | null;
  format: ImageFormat | null;
  exif: string | null;
  caption: string | null;
  captionStatus: CaptionStatus;
  captionError: string | null;
  captionAttempts: number;
  processingTimeMs: number | null;
  error: string | null;
  attempts: number;
  updatedAt: string;
}

export interface NewImage {
  id: string;
  originalName: string;
  originalKey: string;
  contentType: string;
  sizeBytes: number;
  createdAt: string;
}

export interface ProcessedImage {
  width: number;
  height: number;
  format: ImageFormat;
  exif: string | null;
  caption: string | null;
  captionStatus: CaptionStatus;
  captionError: string | null;
  captionAttempts: number;
  processingTimeMs: number;
  processedAt: string;
}

export interface CaptionUpdate {
  caption: string | null;
  captionStatus: CaptionStatus;
  captionError: string | null;
  now: string;
}

export interface ImageStats {
  total: number;
  success: number;
  failed: number;
  avgProcessingTimeMs: number | null;
}

/** What the list shows of a row: the list never reads EXIF or captions. */
export type ImageListItem = Pick<ImageRecord, 'id' | 'originalName' | 'status' | 'createdAt' | 'processedAt'>;

/** A position in the newest-first order (created_at DESC, id DESC): the last row already seen. */
export interface ListCursor {
  createdAt: string;
  id: string;
}

export interface ListPageRequest {
  limit: number;
  /** Rows strictly after this position; null for the first page. */
  after: ListCursor | null;
}

export interface ImagePage {
  items: ImageListItem[];
  /** Where the next page starts; null when this page is the last. */
  next: ListCursor | null;
}

export interface ImagesRepository {
  insertQueued(image: NewImage): Promise<ImageRecord>;
  delete(id: string): Promise<void>;
  /** Moves a queued (or interrupted) row to processing; null when the row is missing or already final. */
  claim(id: string, now: string): Promise<ImageRecord | null>;
  markSuccess(id: string, result: ProcessedImage): Promise<boolean>;
  markFailed(id: string, reason: string, processingTimeMs: number | null, now: string): Promise<boolean>;
  /** Keeps the last transient error on a row that will be retried, for the failure reason if retries run out. */
  recordRetryableError(id: string, message: string, now: string): Promise<void>;
  /** Counts a caption attempt on a finished image and stores its outcome. */
  updateCaption(id: string, update: CaptionUpdate): Promise<boolean>;
  /** Rows that have waited in `queued` or `processing` since before the given times. */
  findStale(queuedBefore: string, processingBefore: string, limit: number): Promise<ImageRecord[]>;
  touch(id: string, now: string): Promise<void>;
  find(id: string): Promise<ImageRecord | null>;
  /** One page, newest first; keyset pagination over the images_created_at index, so any page costs the same. */
  list(page: ListPageRequest): Promise<ImagePage>;
  stats(): Promise<ImageStats>;
}

export function createImagesRepository(db: Client): ImagesRepository {
  return {
    async insertQueued(image) {
      const rs = await db.execute({
        sql: `INSERT INTO images (id, original_name, status, created_at, updated_at, original_key, content_type, size_bytes)
              VALUES (?, ?, 'queued', ?, ?, ?, ?, ?)
              RETURNING *`,
        args: [image.id, image.originalName, image.createdAt, image.createdAt, image.originalKey, image.contentType, image.sizeBytes],
      });
      const row = rs.rows[0];
      if (!row) throw new Error(`insert of image ${image.id} returned no row`);
      return toRecord(row);
    },

    async delete(id) {
      await db.execute({ sql: 'DELETE FROM images WHERE id = ?', args: [id] });
    },

    async claim(id, now) {
      const rs = await db.execute({
        sql: `UPDATE images SET status = 'processing', attempts = attempts + 1, updated_at = ?
              WHERE id = ? AND status IN ('queued', 'processing')
              RETURNING *`,
        args: [now, id],
      });
      const row = rs.rows[0];
      return row ? toRecord(row) : null;
    },

    async markSuccess(id, r) {
      // Only a row this delivery claimed may finish: a late duplicate never
      // moves a finished row.
      const rs = await db.execute({
        sql: `UPDATE images SET status = 'success', error = NULL, width = ?, height = ?, format = ?, exif = ?,
                caption = ?, caption_status = ?, caption_error = ?, caption_attempts = ?, processing_time_ms = ?,
                processed_at = ?, updated_at = ?
              WHERE id = ? AND status = 'processing'`,
        args: [r.width, r.height, r.format, r.exif, r.caption, r.captionStatus, r.captionError, r.captionAttempts, r.processingTimeMs, r.processedAt, r.processedAt, id],
      });
      return rs.rowsAffected > 0;
    },

    async markFailed(id, reason, processingTimeMs, now) {
      const rs = await db.execute({
        sql: `UPDATE images SET status = 'failed', error = ?, processing_time_ms = ?, processed_at = ?, updated_at = ?
              WHERE id = ? AND status IN ('queued', 'processing')`,
        args: [reason, processingTimeMs, now, now, id],
      });
      return rs.rowsAffected > 0;
    },

    async recordRetryableError(id, message, now) {
      await db.execute({
        sql: `UPDATE images SET error = ?, updated_at = ? WHERE id = ? AND status IN ('queued', 'processing')`,
        args: [message, now, id],
      });
    },

    async updateCaption(id, u) {
      // Only a caption still owed may change: a duplicate retry after `done` is a no-op.
      const rs = await db.execute({
        sql: `UPDATE images SET caption = ?, caption_status = ?, caption_error = ?, caption_attempts = caption_attempts + 1, updated_at = ?
              WHERE id = ? AND status = 'success' AND caption_status = 'pending'`,
        args: [u.caption, u.captionStatus, u.captionError, u.now, id],
      });
      return rs.rowsAffected > 0;
    },

    async findStale(queuedBefore, processingBefore, limit) {
      const rs = await db.execute({
        sql: `SELECT * FROM images
              WHERE (status = 'queued' AND updated_at < ?) OR (status = 'processing' AND updated_at < ?)
              ORDER BY updated_at LIMIT ?`,
        args: [queuedBefore, processingBefore, limit],
      });
      return rs.rows.map(toRecord);
    },

    async touch(id, now) {
      await db.execute({ sql: 'UPDATE images SET updated_at = ? WHERE id = ?', args: [now, id] });
    },

    async find(id) {
      const rs = await db.execute({ sql: 'SELECT * FROM images WHERE id = ?', args: [id] });
      const row = rs.rows[0];
      return row ? toRecord(row) : null;
    },

    async list({ limit, after }) {
      // One row past the page says whether a next page exists without a count.
      const columns = 'id, original_name, status, created_at, processed_at';
      const order = 'ORDER BY created_at DESC, id DESC LIMIT ?';
      const rs = after
        ? await db.execute({ sql: `SELECT ${columns} FROM images WHERE (created_at, id) < (?, ?) ${order}`, args: [after.createdAt, after.id, limit + 1] })
        : await db.execute({ sql: `SELECT ${columns} FROM images ${order}`, args: [limit + 1] });
      const items = rs.rows.slice(0, limit).map(toListItem);
      const last = items[items.length - 1];
      return { items, next: rs.rows.length > limit && last ? { createdAt: last.createdAt, id: last.id } : null };
    },

    async stats() {
      // Counters maintained by triggers (see schema.ts): one row, whatever the table size.
      const rs = await db.execute('SELECT total, success, failed, success_time_sum, success_time_count FROM image_counters WHERE id = 1');
      const row = rs.rows[0];
      if (row) {
        const timed = Number(row.success_time_count);
        return {
          total: Number(row.total),
          success: Number(row.success),
          failed: Number(row.failed),
          avgProcessingTimeMs: timed > 0 ? Number(row.success_time_sum) / timed : null,
        };
      }
      return aggregateStats(db);
    },
  };
}

/** The full scan the counters replace; only for a database whose counters row is missing. */
export async function aggregateStats(db: Client): Promise<ImageStats> {
  const rs = await db.execute(
    `SELECT count(*) AS total,
            count(*) FILTER (WHERE status = 'success') AS success,
            count(*) FILTER (WHERE status = 'failed') AS failed,
            avg(processing_time_ms) FILTER (WHERE status = 'success') AS avg_ms
     FROM images`,
  );
  const row = rs.rows[0];
  return {
    total: Number(row?.total ?? 0),
    success: Number(row?.success ?? 0),
    failed: Number(row?.failed ?? 0),
    avgProcessingTimeMs: row?.avg_ms == null ? null : Number(row.avg_ms),
  };
}

function toListItem(row: Row): ImageListItem {
  return {
    id: String(row.id),
    originalName: String(row.original_name),
    status: String(row.status) as ImageStatus,
    createdAt: String(row.created_at),
    processedAt: nullableString(row.processed_at),
  };
}

function toRecord(row: Row): ImageRecord {
  return {
    ...toListItem(row),
    originalKey: String(row.original_key),
    contentType: String(row.content_type),
    sizeBytes: Number(row.size_bytes),
    width: nullableNumber(row.width),
    height: nullableNumber(row.height),
    format: nullableString(row.format) as ImageFormat | null,
    exif: nullableString(row.exif),
    caption: nullableString(row.caption),
    captionStatus: String(row.caption_status) as CaptionStatus,
    captionError: nullableString(row.caption_error),
    captionAttempts: Number(row.caption_attempts ?? 0),
    processingTimeMs: nullableNumber(row.processing_time_ms),
    error: nullableString(row.error),
    attempts: Number(row.attempts),
    updatedAt: String(row.updated_at),
  };
}

function nullableString(value: unknown): string | null {
  return value == null ? null : String(value);
}

function nullableNumber(value: unknown): number | null {
  return value == null ? null : Number(value);
}
