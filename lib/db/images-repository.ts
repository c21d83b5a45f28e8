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
  processingTimeMs: number | null;
  error: string | null;
  attempts: number;
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
  processingTimeMs: number;
  processedAt: string;
}

export interface ImageStats {
  total: number;
  success: number;
  failed: number;
  avgProcessingTimeMs: number | null;
}

export interface ImagesRepository {
  insertQueued(image: NewImage): Promise<void>;
  delete(id: string): Promise<void>;
  /** Moves a queued (or interrupted) row to processing; null when the row is missing or already final. */
  claim(id: string, now: string): Promise<ImageRecord | null>;
  markSuccess(id: string, result: ProcessedImage): Promise<boolean>;
  markFailed(id: string, reason: string, processingTimeMs: number | null, now: string): Promise<boolean>;
  find(id: string): Promise<ImageRecord | null>;
  list(): Promise<ImageRecord[]>;
  stats(): Promise<ImageStats>;
}

export function createImagesRepository(db: Client): ImagesRepository {
  return {
    async insertQueued(image) {
      await db.execute({
        sql: `INSERT INTO images (id, original_name, status, created_at, updated_at, original_key, content_type, size_bytes)
              VALUES (?, ?, 'queued', ?, ?, ?, ?, ?)`,
        args: [image.id, image.originalName, image.createdAt, image.createdAt, image.originalKey, image.contentType, image.sizeBytes],
      });
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
                caption = ?, caption_status = ?, caption_error = ?, processing_time_ms = ?, processed_at = ?, updated_at = ?
              WHERE id = ? AND status = 'processing'`,
        args: [r.width, r.height, r.format, r.exif, r.caption, r.captionStatus, r.captionError, r.processingTimeMs, r.processedAt, r.processedAt, id],
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

    async find(id) {
      const rs = await db.execute({ sql: 'SELECT * FROM images WHERE id = ?', args: [id] });
      const row = rs.rows[0];
      return row ? toRecord(row) : null;
    },

    async list() {
      const rs = await db.execute('SELECT * FROM images ORDER BY created_at DESC, id DESC');
      return rs.rows.map(toRecord);
    },

    async stats() {
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
    },
  };
}

function toRecord(row: Row): ImageRecord {
  return {
    id: String(row.id),
    originalName: String(row.original_name),
    status: String(row.status) as ImageStatus,
    createdAt: String(row.created_at),
    processedAt: nullableString(row.processed_at),
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
    processingTimeMs: nullableNumber(row.processing_time_ms),
    error: nullableString(row.error),
    attempts: Number(row.attempts),
  };
}

function nullableString(value: unknown): string | null {
  return value == null ? null : String(value);
}

function nullableNumber(value: unknown): number | null {
  return value == null ? null : Number(value);
}
