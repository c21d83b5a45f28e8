// All SQL about images lives here.
import type { Client, Row } from '@libsql/client';
import type { ImageFormat } from '../images/sniff.ts';
import { searchMatchExpression } from './search-schema.ts';

export type ImageStatus = 'awaiting_upload' | 'queued' | 'processing' | 'success' | 'failed';
export type CaptionStatus = 'pending' | 'done' | 'failed' | 'off';
/** Why a `failed` row failed: `permanent` (the image itself) or `transient` (an outage; it can run again). */
export type FailureKind = 'permanent' | 'transient';

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
  /** The sentence people see (served). */
  error: string | null;
  /** The raw text of the last error: never served (see lib/image-lifecycle.ts). */
  errorDetail: string | null;
  failureKind: FailureKind | null;
  attempts: number;
  updatedAt: string;
  /** Counts the row's jobs: 1 at upload, one more for each reprocess or redrive. */
  generation: number;
  /** When SQS accepted the job message of this generation; null while unconfirmed. */
  jobSentAt: string | null;
  leaseToken: string | null;
  leaseMessageId: string | null;
  leaseReceiveCount: number | null;
  leaseExpiresAt: string | null;
  /** When SQS accepted the job for the pending caption's next attempt; null when none is scheduled. */
  captionJobSentAt: string | null;
  /** A direct upload's presigned POST expires then; null for images sent through the API. */
  uploadExpiresAt: string | null;
}

export interface NewImage {
  id: string;
  originalName: string;
  originalKey: string;
  contentType: string;
  sizeBytes: number;
  createdAt: string;
}

/** A direct upload (POST /api/uploads): `sizeBytes` and `contentType` are the client's declaration. */
export interface NewDirectUpload extends NewImage {
  uploadExpiresAt: string;
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

/** A delivery's hold on a row: who (token, message) and until when. */
export interface Lease {
  token: string;
  messageId: string;
  receiveCount: number;
  expiresAt: string;
}

export interface IdempotencyKeyRecord {
  key: string;
  requestHash: string;
  imageId: string;
  createdAt: string;
}

export interface NewIdempotencyKey {
  key: string;
  requestHash: string;
  /** A key created before this time has expired and may be taken by a new request. */
  expiredBefore: string;
}

/** The image was inserted, or the key already belonged to another request (nothing inserted). */
export type KeyedInsert = { inserted: ImageRecord } | { existing: IdempotencyKeyRecord };

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
  /** Only the rows of this status; without it every row but those awaiting their direct upload. */
  status?: ImageStatus | undefined;
  /** Only the rows whose file name, caption or camera holds every one of these terms (search-schema.ts). */
  search?: readonly string[] | undefined;
}

export interface ImagePage {
  items: ImageListItem[];
  /** Where the next page starts; null when this page is the last. */
  next: ListCursor | null;
}

/**
 * All SQL about images. The writes that move a row between states are the
 * transitions of lib/image-lifecycle.ts, which documents them and is their
 * only caller; each WHERE clause here is the guard of its transition.
 */
export interface ImagesRepository {
  // Creating and removing rows
  insertQueued(image: NewImage): Promise<ImageRecord>;
  /** The image and its Idempotency-Key in one transaction: of two requests with one key, one inserts. */
  insertQueuedWithKey(image: NewImage, key: NewIdempotencyKey): Promise<KeyedInsert>;
  delete(id: string): Promise<void>;
  /** DELETE /api/images/{id}: removes the row unless a delivery holds a live lease on its processing; false when nothing was removed. */
  deleteUnlessProcessing(id: string, now: string): Promise<boolean>;
  insertAwaitingUpload(image: NewDirectUpload): Promise<ImageRecord>;

  // Lifecycle transitions (lib/image-lifecycle.ts)
  /** awaiting_upload -> queued for the object at `key`, if the upload expired no earlier than `expiredNotBefore` (null: any). */
  landUpload(id: string, key: string, landing: { expiredNotBefore: string | null; jobSentAt: string | null; now: string }): Promise<ImageRecord | null>;
  deleteExpiredUpload(id: string, expiredBefore: string): Promise<boolean>;
  confirmJobSent(id: string, generation: number, now: string): Promise<boolean>;
  claimJob(id: string, lease: Lease, now: string): Promise<ImageRecord | null>;
  finishSuccess(id: string, leaseToken: string, result: ProcessedImage): Promise<boolean>;
  finishFailed(id: string, leaseToken: string, failure: { reason: string; detail?: string | null; kind: FailureKind; processingTimeMs: number | null; now: string }): Promise<boolean>;
  releaseJob(id: string, leaseToken: string, lastError: string, now: string): Promise<boolean>;
  requeueFailed(id: string, kinds: FailureKind[], now: string): Promise<ImageRecord | null>;
  claimCaption(id: string, lease: Lease, now: string): Promise<ImageRecord | null>;
  finishCaptionAttempt(id: string, leaseToken: string, update: CaptionUpdate): Promise<boolean>;
  releaseCaption(id: string, leaseToken: string, now: string): Promise<boolean>;
  confirmCaptionJobSent(id: string, now: string): Promise<boolean>;
  giveUpCaption(id: string, reason: string, now: string): Promise<boolean>;
  failDeadLettered(id: string, generation: number | null, reason: string, detail: string | null, now: string): Promise<boolean>;
  failAbandoned(id: string, reason: string, detail: string | null, leaseExpiredBefore: string, now: string): Promise<boolean>;

  // Look-ups of the sweeper and the redrive
  /** `queued` rows whose job message SQS never confirmed, waiting since before `before`. */
  findUnsentJobs(before: string, limit: number): Promise<ImageRecord[]>;
  /** `processing` rows whose lease ran out before `leaseExpiredBefore` and that nobody took over. */
  findAbandoned(leaseExpiredBefore: string, limit: number): Promise<ImageRecord[]>;
  /** Finished images whose caption is `pending` with no caption job scheduled, since before `before`. */
  findUnscheduledCaptions(before: string, now: string, limit: number): Promise<ImageRecord[]>;
  /** `failed` rows of these kinds, failed at or after `since` (all when null), oldest first. */
  findFailed(kinds: FailureKind[], since: string | null, limit: number): Promise<ImageRecord[]>;
  /** `awaiting_upload` rows whose upload expired before `expiredBefore`, oldest first. */
  findExpiredUploads(expiredBefore: string, limit: number): Promise<ImageRecord[]>;

  // Idempotency keys
  findIdempotencyKey(key: string, createdAfter: string): Promise<IdempotencyKeyRecord | null>;
  deleteExpiredIdempotencyKeys(createdBefore: string): Promise<number>;

  // Reads
  find(id: string): Promise<ImageRecord | null>;
  /** One page, newest first; keyset pagination over the images_created_at index, so any page costs the same. */
  list(page: ListPageRequest): Promise<ImagePage>;
  stats(): Promise<ImageStats>;
}

/** A lease nobody holds any more: none, run out, or held by an earlier receive of the same message. */
const LEASE_FREE = '(lease_token IS NULL OR lease_expires_at <= ? OR (lease_message_id = ? AND lease_receive_count < ?))';
const CLEAR_LEASE = 'lease_token = NULL, lease_message_id = NULL, lease_receive_count = NULL, lease_expires_at = NULL';
const SET_LEASE = 'lease_token = ?, lease_message_id = ?, lease_receive_count = ?, lease_expires_at = ?';

export function createImagesRepository(db: Client): ImagesRepository {
  const one = async (sql: string, args: Array<string | number | null>): Promise<ImageRecord | null> => {
    const row = (await db.execute({ sql, args })).rows[0];
    return row ? toRecord(row) : null;
  };
  const many = async (sql: string, args: Array<string | number | null>): Promise<ImageRecord[]> =>
    (await db.execute({ sql, args })).rows.map(toRecord);
  const changed = async (sql: string, args: Array<string | number | null>): Promise<boolean> =>
    (await db.execute({ sql, args })).rowsAffected > 0;
  const leaseArgs = (lease: Lease): Array<string | number> => [lease.token, lease.messageId, lease.receiveCount, lease.expiresAt];
  const leaseFreeArgs = (lease: Lease, now: string): Array<string | number> => [now, lease.messageId, lease.receiveCount];
  const insertSql = `INSERT INTO images (id, original_name, status, created_at, updated_at, original_key, content_type, size_bytes)`;
  const insertArgs = (image: NewImage): Array<string | number> => [
    image.id,
    image.originalName,
    image.createdAt,
    image.createdAt,
    image.originalKey,
    image.contentType,
    image.sizeBytes,
  ];

  return {
    // ---- Creating and removing rows ---------------------------------------

    async insertQueued(image) {
      const record = await one(`${insertSql} VALUES (?, ?, 'queued', ?, ?, ?, ?, ?) RETURNING *`, insertArgs(image));
      if (!record) throw new Error(`insert of image ${image.id} returned no row`);
      return record;
    },

    async insertQueuedWithKey(image, key) {
      // The key is taken (or an expired one taken over) first; the image row is
      // inserted only if the key now names it. One transaction: a concurrent
      // request with the same key sees both or neither.
      const [, inserted, current] = await db.batch(
        [
          {
            sql: `INSERT INTO idempotency_keys (key, request_hash, image_id, created_at) VALUES (?, ?, ?, ?)
                  ON CONFLICT (key) DO UPDATE SET request_hash = excluded.request_hash, image_id = excluded.image_id, created_at = excluded.created_at
                  WHERE idempotency_keys.created_at < ?`,
            args: [key.key, key.requestHash, image.id, image.createdAt, key.expiredBefore],
          },
          {
            sql: `${insertSql} SELECT ?, ?, 'queued', ?, ?, ?, ?, ?
                  WHERE EXISTS (SELECT 1 FROM idempotency_keys WHERE key = ? AND image_id = ?) RETURNING *`,
            args: [...insertArgs(image), key.key, image.id],
          },
          { sql: 'SELECT * FROM idempotency_keys WHERE key = ?', args: [key.key] },
        ],
        'write',
      );
      const row = inserted?.rows[0];
      if (row) return { inserted: toRecord(row) };
      const existing = current?.rows[0];
      if (!existing) throw new Error(`idempotency key ${key.key} neither inserted nor found`);
      return { existing: toKeyRecord(existing) };
    },

    async delete(id) {
      // The idempotency_keys_image_deleted trigger removes the row's key too.
      await db.execute({ sql: 'DELETE FROM images WHERE id = ?', args: [id] });
    },

    deleteUnlessProcessing: (id, now) =>
      // The row is deleted in the same statement that checks the lease, so a
      // delivery that claims it a moment before is never deleted under it.
      changed(`DELETE FROM images WHERE id = ? AND NOT (status = 'processing' AND lease_token IS NOT NULL AND lease_expires_at > ?)`, [id, now]),

    async insertAwaitingUpload(image) {
      const record = await one(
        `INSERT INTO images (id, original_name, status, created_at, updated_at, original_key, content_type, size_bytes, upload_expires_at)
         VALUES (?, ?, 'awaiting_upload', ?, ?, ?, ?, ?, ?) RETURNING *`,
        [...insertArgs(image), image.uploadExpiresAt],
      );
      if (!record) throw new Error(`insert of image ${image.id} returned no row`);
      return record;
    },

    // ---- Lifecycle transitions: the WHERE clause is the guard -------------

    landUpload: (id, key, landing) =>
      one(
        `UPDATE images SET status = 'queued', job_sent_at = ?, updated_at = ?
         WHERE id = ? AND status = 'awaiting_upload' AND original_key = ? AND (? IS NULL OR upload_expires_at >= ?)
         RETURNING *`,
        [landing.jobSentAt, landing.now, id, key, landing.expiredNotBefore, landing.expiredNotBefore],
      ),

    deleteExpiredUpload: (id, expiredBefore) =>
      changed(`DELETE FROM images WHERE id = ? AND status = 'awaiting_upload' AND upload_expires_at < ?`, [id, expiredBefore]),

    confirmJobSent: (id, generation, now) =>
      changed('UPDATE images SET job_sent_at = ? WHERE id = ? AND generation = ? AND job_sent_at IS NULL', [now, id, generation]),

    claimJob: (id, lease, now) =>
      // Receiving the message proves it was sent: job_sent_at is confirmed here too.
      one(
        `UPDATE images SET status = 'processing', attempts = attempts + 1, ${SET_LEASE},
                job_sent_at = coalesce(job_sent_at, ?), updated_at = ?
         WHERE id = ? AND (status = 'queued' OR (status = 'processing' AND ${LEASE_FREE}))
         RETURNING *`,
        [...leaseArgs(lease), now, now, id, ...leaseFreeArgs(lease, now)],
      ),

    finishSuccess: (id, token, r) =>
      changed(
        `UPDATE images SET status = 'success', error = NULL, error_detail = NULL, failure_kind = NULL, width = ?, height = ?, format = ?, exif = ?,
                caption = ?, caption_status = ?, caption_error = ?, caption_attempts = ?, caption_job_sent_at = NULL,
                processing_time_ms = ?, processed_at = ?, updated_at = ?, ${CLEAR_LEASE}
         WHERE id = ? AND status = 'processing' AND lease_token = ?`,
        [r.width, r.height, r.format, r.exif, r.caption, r.captionStatus, r.captionError, r.captionAttempts, r.processingTimeMs, r.processedAt, r.processedAt, id, token],
      ),

    finishFailed: (id, token, f) =>
      changed(
        `UPDATE images SET status = 'failed', error = ?, error_detail = ?, failure_kind = ?, processing_time_ms = ?, processed_at = ?, updated_at = ?, ${CLEAR_LEASE}
         WHERE id = ? AND status = 'processing' AND lease_token = ?`,
        [f.reason, f.detail ?? null, f.kind, f.processingTimeMs, f.now, f.now, id, token],
      ),

    releaseJob: (id, token, lastError, now) =>
      changed(
        `UPDATE images SET status = 'queued', error_detail = ?, updated_at = ?, ${CLEAR_LEASE}
         WHERE id = ? AND status = 'processing' AND lease_token = ?`,
        [lastError, now, id, token],
      ),

    requeueFailed: (id, kinds, now) =>
      one(
        `UPDATE images SET status = 'queued', generation = generation + 1, job_sent_at = NULL, error = NULL, error_detail = NULL, failure_kind = NULL,
                processing_time_ms = NULL, processed_at = NULL, updated_at = ?, ${CLEAR_LEASE}
         WHERE id = ? AND status = 'failed' AND failure_kind IN (${kinds.map(() => '?').join(', ')})
         RETURNING *`,
        [now, id, ...kinds],
      ),

    claimCaption: (id, lease, now) =>
      one(
        `UPDATE images SET ${SET_LEASE}, updated_at = ?
         WHERE id = ? AND status = 'success' AND caption_status = 'pending' AND ${LEASE_FREE}
         RETURNING *`,
        [...leaseArgs(lease), now, id, ...leaseFreeArgs(lease, now)],
      ),

    finishCaptionAttempt: (id, token, u) =>
      // The job that carried this attempt is used up: caption_job_sent_at is cleared.
      changed(
        `UPDATE images SET caption = ?, caption_status = ?, caption_error = ?, caption_attempts = caption_attempts + 1,
                caption_job_sent_at = NULL, updated_at = ?, ${CLEAR_LEASE}
         WHERE id = ? AND status = 'success' AND caption_status = 'pending' AND lease_token = ?`,
        [u.caption, u.captionStatus, u.captionError, u.now, id, token],
      ),

    releaseCaption: (id, token, now) =>
      changed(`UPDATE images SET updated_at = ?, ${CLEAR_LEASE} WHERE id = ? AND status = 'success' AND lease_token = ?`, [now, id, token]),

    confirmCaptionJobSent: (id, now) =>
      changed(
        `UPDATE images SET caption_job_sent_at = ?
         WHERE id = ? AND status = 'success' AND caption_status = 'pending' AND caption_job_sent_at IS NULL`,
        [now, id],
      ),

    giveUpCaption: (id, reason, now) =>
      changed(
        `UPDATE images SET caption = NULL, caption_status = 'failed', caption_error = ?, caption_job_sent_at = NULL, updated_at = ?, ${CLEAR_LEASE}
         WHERE id = ? AND status = 'success' AND caption_status = 'pending' AND (lease_token IS NULL OR lease_expires_at <= ?)`,
        [reason, now, id, now],
      ),

    failDeadLettered: (id, generation, reason, detail, now) =>
      changed(
        `UPDATE images SET status = 'failed', error = ?, error_detail = ?, failure_kind = 'transient', processed_at = ?, updated_at = ?, ${CLEAR_LEASE}
         WHERE id = ? AND (? IS NULL OR generation = ?)
           AND (status = 'queued' OR (status = 'processing' AND (lease_token IS NULL OR lease_expires_at <= ?)))`,
        [reason, detail, now, now, id, generation, generation, now],
      ),

    failAbandoned: (id, reason, detail, leaseExpiredBefore, now) =>
      // Evaluated when the row is written, not when it was found: a delivery
      // that claimed the row a moment ago holds a fresh lease and is left alone.
      changed(
        `UPDATE images SET status = 'failed', error = ?, error_detail = ?, failure_kind = 'transient', processed_at = ?, updated_at = ?, ${CLEAR_LEASE}
         WHERE id = ? AND status = 'processing' AND coalesce(lease_expires_at, updated_at) < ?`,
        [reason, detail, now, now, id, leaseExpiredBefore],
      ),

    // ---- Look-ups of the sweeper and the redrive ---------------------------

    findUnsentJobs: (before, limit) =>
      many(`SELECT * FROM images WHERE status = 'queued' AND job_sent_at IS NULL AND updated_at < ? ORDER BY updated_at LIMIT ?`, [before, limit]),

    findAbandoned: (leaseExpiredBefore, limit) =>
      many(
        `SELECT * FROM images WHERE status = 'processing'
           AND (lease_expires_at < ? OR (lease_expires_at IS NULL AND updated_at < ?))
         ORDER BY updated_at LIMIT ?`,
        [leaseExpiredBefore, leaseExpiredBefore, limit],
      ),

    findUnscheduledCaptions: (before, now, limit) =>
      many(
        `SELECT * FROM images WHERE status = 'success' AND caption_status = 'pending' AND caption_job_sent_at IS NULL
           AND updated_at < ? AND (lease_token IS NULL OR lease_expires_at <= ?)
         ORDER BY updated_at LIMIT ?`,
        [before, now, limit],
      ),

    findFailed: (kinds, since, limit) =>
      many(
        `SELECT * FROM images WHERE status = 'failed' AND failure_kind IN (${kinds.map(() => '?').join(', ')})
           AND (? IS NULL OR processed_at >= ?)
         ORDER BY processed_at, id LIMIT ?`,
        [...kinds, since, since, limit],
      ),

    findExpiredUploads: (expiredBefore, limit) =>
      many(`SELECT * FROM images WHERE status = 'awaiting_upload' AND upload_expires_at < ? ORDER BY upload_expires_at LIMIT ?`, [expiredBefore, limit]),

    // ---- Idempotency keys ---------------------------------------------------

    async findIdempotencyKey(key, createdAfter) {
      const rs = await db.execute({ sql: 'SELECT * FROM idempotency_keys WHERE key = ? AND created_at >= ?', args: [key, createdAfter] });
      const row = rs.rows[0];
      return row ? toKeyRecord(row) : null;
    },

    async deleteExpiredIdempotencyKeys(createdBefore) {
      return (await db.execute({ sql: 'DELETE FROM idempotency_keys WHERE created_at < ?', args: [createdBefore] })).rowsAffected;
    },

    // ---- Reads --------------------------------------------------------------

    async find(id) {
      const rs = await db.execute({ sql: 'SELECT * FROM images WHERE id = ?', args: [id] });
      const row = rs.rows[0];
      return row ? toRecord(row) : null;
    },

    async list({ limit, after, status, search }) {
      // Rows awaiting their direct upload are few and short-lived: listed only when asked for.
      const where = [status === undefined ? "images.status <> 'awaiting_upload'" : 'images.status = ?'];
      const args: Array<string | number> = status === undefined ? [] : [status];
      let from = 'images';
      const match = search === undefined ? null : searchMatchExpression(search);
      if (match !== null) {
        from = 'image_search JOIN images ON images.id = image_search.image_id';
        where.push('image_search MATCH ?');
        args.push(match);
      }
      if (after) {
        where.push('(images.created_at, images.id) < (?, ?)');
        args.push(after.createdAt, after.id);
      }
      // One row past the page says whether a next page exists without a count.
      const rs = await db.execute({
        sql: `SELECT images.id, images.original_name, images.status, images.created_at, images.processed_at
              FROM ${from} WHERE ${where.join(' AND ')} ORDER BY images.created_at DESC, images.id DESC LIMIT ?`,
        args: [...args, limit + 1],
      });
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
     FROM images WHERE status <> 'awaiting_upload'`,
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
    errorDetail: nullableString(row.error_detail),
    failureKind: nullableString(row.failure_kind) as FailureKind | null,
    attempts: Number(row.attempts),
    updatedAt: String(row.updated_at),
    generation: Number(row.generation ?? 1),
    jobSentAt: nullableString(row.job_sent_at),
    leaseToken: nullableString(row.lease_token),
    leaseMessageId: nullableString(row.lease_message_id),
    leaseReceiveCount: nullableNumber(row.lease_receive_count),
    leaseExpiresAt: nullableString(row.lease_expires_at),
    captionJobSentAt: nullableString(row.caption_job_sent_at),
    uploadExpiresAt: nullableString(row.upload_expires_at),
  };
}

function toKeyRecord(row: Row): IdempotencyKeyRecord {
  return {
    key: String(row.key),
    requestHash: String(row.request_hash),
    imageId: String(row.image_id),
    createdAt: String(row.created_at),
  };
}

function nullableString(value: unknown): string | null {
  return value == null ? null : String(value);
}

function nullableNumber(value: unknown): number | null {
  return value == null ? null : Number(value);
}
