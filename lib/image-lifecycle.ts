// The life of an image row, from upload to a final state, in one place. Every
// write that moves a row goes through this module; the SQL of each transition
// (its WHERE clause is the guard below) is in lib/db/images-repository.ts.
//
// States (`status`)
//   awaiting_upload  a direct upload (POST /api/uploads, lib/direct-upload.ts): the client holds a
//               presigned POST for `original_key` (uploads/<id>) until `upload_expires_at`; the
//               row is not counted in /api/stats and not listed unless asked for
//   queued      accepted; waiting for a delivery of its job message
//   processing  a delivery holds the row's lease and is doing the work
//   success     thumbnails, metadata, EXIF stored (the caption has states of its own)
//   failed      with `error`, a sentence for people (the raw error text goes to the log and to
//               `error_detail`, which the API never serves), and `failure_kind`:
//               permanent  the image itself can never succeed (corrupt, too large, original gone)
//               transient  a service was unavailable for longer than the deliveries lasted;
//                          `npm run redrive` or POST /api/images/{id}/reprocess runs it again
//
// Delivery bookkeeping on the row
//   generation   1 at upload, +1 for each run again (reprocess, redrive); job messages carry it
//   job_sent_at  when SQS accepted the current generation's job message (the outbox): the
//                sweeper sends again only rows where this is still empty, never a row that
//                is merely waiting in a long queue
//   lease_*      the delivery at work: a random token, its message id and receive count, and an
//                expiry as long as the queue's visibility timeout. Only the token's holder may
//                finish the row. A lease is free when none is held, when it has run out, or
//                when the same message comes back with a higher receive count (SQS delivers a
//                message again only once the previous receive's Lambda is gone).
//   caption_job_sent_at  when SQS accepted the job of a pending caption's next attempt
//
// Transitions (who: from -> to, guard)
//   createDirectUpload  POST /api/uploads: (none) -> awaiting_upload; discarded again if signing fails
//   objectLanded      processor, on the bucket's notification (a message on the job queue):
//                                  awaiting_upload -> queued, the object's key only, and only until the
//                                  upload's expiry plus the grace period. The notification is the job:
//                                  job_sent_at is set and the same delivery goes on to claim the row
//   landFound         sweeper:     awaiting_upload past expiry + grace whose object is in the bucket
//                                  (its notification was lost) -> queued; then sent and confirmed as
//                                  for an upload
//   expireUnused      sweeper, processor: awaiting_upload past expiry + grace -> (deleted); an
//                                  object that lands later, or for no row at all, is deleted
//   (check)           processor, after claim, before any decode of a direct upload: a size over
//                                  the limit or other than declared, or bytes that are not JPEG or
//                                  PNG -> the object deleted, then `fail` (permanent) with the reason
//   accept            upload:      (none) -> queued; with an Idempotency-Key, only if the key is free
//   discard           upload:      queued -> (deleted), when the send failed (all or nothing);
//                                  POST /api/uploads: awaiting_upload -> (deleted), when signing failed
//   confirmJobSent    upload, reprocess, redrive, sweeper: job_sent_at set, same generation only
//   claim             processor:   queued | processing with a free lease -> processing, new lease
//                                  (a live lease held by another message: the duplicate does nothing)
//   succeed           processor:   processing -> success, lease holder only
//   fail              processor:   processing -> failed, lease holder only; permanent at once,
//                                  transient on the message's last delivery
//   release           processor:   processing -> queued, lease holder only, after a transient error:
//                                  the message comes back after its visibility timeout
//   requeue           reprocess (any failed) / redrive (transient only): failed -> queued,
//                                  generation + 1, job not yet sent
//   settleDeadLetter  dead letters: queued | processing with an expired lease -> failed (transient),
//                                  only for the message's own generation
//   failAbandoned     sweeper:     processing whose lease ran out long ago -> failed (transient),
//                                  checked when written, so a fresh claim is never failed
//   delete            DELETE /api/images/{id} (lib/delete-image.ts): any state -> (deleted) once its
//                                  original and thumbnails are gone, unless a delivery holds a live
//                                  lease (409); checked in the DELETE itself (deleteUnlessProcessing)
// Caption (`caption_status`, on success rows: off, pending, done, failed)
//   claimCaption      caption job: success + pending with a free lease -> lease taken
//   recordCaptionAttempt  lease holder: the attempt's outcome; pending again needs a new job
//   confirmCaptionJobSent processor, sweeper: the next attempt's job is in the queue
//   giveUpCaption     dead letters: pending (no live lease) -> failed
//
// Counters for /api/stats follow every status change through triggers (lib/db/schema.ts).
import { randomUUID } from 'node:crypto';
import type {
  CaptionUpdate,
  FailureKind,
  IdempotencyKeyRecord,
  ImageRecord,
  ImagesRepository,
  Lease,
  NewDirectUpload,
  NewImage,
  ProcessedImage,
} from './db/images-repository.ts';

export interface LifecycleOptions {
  /** The job queue's visibility timeout: a lease lasts at least as long. */
  leaseSeconds: number;
  /** How long past its expiry a direct upload may still land (UPLOAD_EXPIRY_GRACE_SECONDS); 0 when not given. */
  uploadGraceSeconds?: number;
  now?: () => Date;
}

export type LandingResult =
  /** awaiting_upload -> queued now. */
  | { outcome: 'landed'; record: ImageRecord }
  /** The row already moved on (an earlier delivery of the same notification landed it). */
  | { outcome: 'moved-on'; record: ImageRecord }
  /** Too late, or for no row of this key: the row (if any) is removed and the object must go. */
  | { outcome: 'unwanted' };

/** The SQS delivery asking for the row. */
export interface DeliveryRef {
  messageId: string;
  receiveCount: number;
}

export type ClaimResult =
  | { outcome: 'claimed'; record: ImageRecord; token: string }
  /** Another delivery holds a live lease: this one does nothing. */
  | { outcome: 'leased'; record: ImageRecord }
  /** Nothing to do: the row is final (or, for a caption, no caption is owed). */
  | { outcome: 'done'; record: ImageRecord }
  | { outcome: 'missing' };

export interface Failure {
  /** The sentence people see. */
  reason: string;
  /** The raw error text, kept for operators and never served. */
  detail?: string | null;
  kind: FailureKind;
  processingTimeMs: number | null;
}

export type SettleResult = 'failed' | 'leased' | 'nothing-to-do';

export interface ImageLifecycle {
  createDirectUpload(image: NewDirectUpload): Promise<ImageRecord>;
  objectLanded(id: string, key: string): Promise<LandingResult>;
  landFound(row: ImageRecord): Promise<ImageRecord | null>;
  expireUnused(id: string): Promise<boolean>;

  accept(image: NewImage): Promise<ImageRecord>;
  acceptWithKey(image: NewImage, key: { key: string; requestHash: string }): Promise<{ inserted: ImageRecord } | { existing: IdempotencyKeyRecord }>;
  discard(id: string): Promise<void>;
  confirmJobSent(id: string, generation: number): Promise<boolean>;

  claim(id: string, delivery: DeliveryRef): Promise<ClaimResult>;
  succeed(id: string, token: string, result: ProcessedImage): Promise<boolean>;
  fail(id: string, token: string, failure: Failure): Promise<boolean>;
  release(id: string, token: string, lastError: string): Promise<boolean>;
  /** `any`: reprocess of any failed row; `transient`: the redrive's rows only. */
  requeue(id: string, which: 'any' | 'transient'): Promise<ImageRecord | null>;

  claimCaption(id: string, delivery: DeliveryRef): Promise<ClaimResult>;
  recordCaptionAttempt(id: string, token: string, outcome: Omit<CaptionUpdate, 'now'>): Promise<boolean>;
  releaseCaption(id: string, token: string): Promise<boolean>;
  confirmCaptionJobSent(id: string): Promise<boolean>;

  /** The last error seen on the row becomes part of the reason. */
  settleDeadLetter(id: string, generation: number | undefined, deliveries: number): Promise<SettleResult>;
  giveUpCaption(id: string): Promise<SettleResult>;
  failAbandoned(row: ImageRecord, staleSeconds: number, leaseExpiredBefore: Date): Promise<boolean>;
}

/** How long an Idempotency-Key holds: a retry within this time answers the first request's image. */
export const IDEMPOTENCY_KEY_HOURS = 24;

export function createImageLifecycle(images: ImagesRepository, options: LifecycleOptions): ImageLifecycle {
  const clock = options.now ?? (() => new Date());
  const now = (): string => clock().toISOString();
  const newLease = (delivery: DeliveryRef): Lease => ({
    token: randomUUID(),
    messageId: delivery.messageId,
    receiveCount: delivery.receiveCount,
    expiresAt: new Date(clock().getTime() + options.leaseSeconds * 1000).toISOString(),
  });

  /** Why a claim was refused, read after the guarded update found nothing to change. */
  async function refusal(id: string, owed: (row: ImageRecord) => boolean): Promise<ClaimResult> {
    const row = await images.find(id);
    if (!row) return { outcome: 'missing' };
    return owed(row) ? { outcome: 'leased', record: row } : { outcome: 'done', record: row };
  }

  const uploadsExpiredBefore = (): string => new Date(clock().getTime() - (options.uploadGraceSeconds ?? 0) * 1000).toISOString();

  return {
    createDirectUpload: (image) => images.insertAwaitingUpload(image),
    async objectLanded(id, key) {
      const at = now();
      const landed = await images.landUpload(id, key, { expiredNotBefore: uploadsExpiredBefore(), jobSentAt: at, now: at });
      if (landed) return { outcome: 'landed', record: landed };
      const row = await images.find(id);
      if (row && row.originalKey === key && row.status !== 'awaiting_upload') return { outcome: 'moved-on', record: row };
      if (row?.status === 'awaiting_upload') await images.deleteExpiredUpload(id, uploadsExpiredBefore());
      return { outcome: 'unwanted' };
    },
    landFound: (row) => images.landUpload(row.id, row.originalKey, { expiredNotBefore: null, jobSentAt: null, now: now() }),
    expireUnused: (id) => images.deleteExpiredUpload(id, uploadsExpiredBefore()),

    accept: (image) => images.insertQueued(image),
    acceptWithKey: (image, key) =>
      images.insertQueuedWithKey(image, { ...key, expiredBefore: new Date(clock().getTime() - IDEMPOTENCY_KEY_HOURS * 3_600_000).toISOString() }),
    discard: (id) => images.delete(id),
    confirmJobSent: (id, generation) => images.confirmJobSent(id, generation, now()),

    async claim(id, delivery) {
      const lease = newLease(delivery);
      const record = await images.claimJob(id, lease, now());
      if (record) return { outcome: 'claimed', record, token: lease.token };
      return refusal(id, (row) => row.status === 'queued' || row.status === 'processing');
    },
    succeed: (id, token, result) => images.finishSuccess(id, token, result),
    fail: (id, token, failure) => images.finishFailed(id, token, { ...failure, now: now() }),
    release: (id, token, lastError) => images.releaseJob(id, token, lastError, now()),
    requeue: (id, which) => images.requeueFailed(id, which === 'any' ? ['transient', 'permanent'] : ['transient'], now()),

    async claimCaption(id, delivery) {
      const lease = newLease(delivery);
      const record = await images.claimCaption(id, lease, now());
      if (record) return { outcome: 'claimed', record, token: lease.token };
      return refusal(id, (row) => row.status === 'success' && row.captionStatus === 'pending');
    },
    recordCaptionAttempt: (id, token, outcome) => images.finishCaptionAttempt(id, token, { ...outcome, now: now() }),
    releaseCaption: (id, token) => images.releaseCaption(id, token, now()),
    confirmCaptionJobSent: (id) => images.confirmCaptionJobSent(id, now()),

    async settleDeadLetter(id, generation, deliveries) {
      const seen = await images.find(id);
      if (!seen) return 'nothing-to-do';
      const detail = seen.errorDetail ?? 'the processor did not finish (crash or timeout)';
      const reason = transientFailureReason(id, `Processing failed after ${deliveries} attempts`, seen.errorDetail);
      if (await images.failDeadLettered(id, generation ?? null, reason, detail, now())) return 'failed';
      const row = await images.find(id);
      const leased = row !== null && row.status === 'processing' && (generation === undefined || generation === row.generation);
      return leased ? 'leased' : 'nothing-to-do';
    },

    async giveUpCaption(id) {
      if (await images.giveUpCaption(id, 'Caption retries ran out', now())) return 'failed';
      const row = await images.find(id);
      return row?.status === 'success' && row.captionStatus === 'pending' ? 'leased' : 'nothing-to-do';
    },

    failAbandoned: (row, staleSeconds, leaseExpiredBefore) =>
      images.failAbandoned(
        row.id,
        transientFailureReason(row.id, `Processing did not finish within ${staleSeconds} s`, row.errorDetail),
        row.errorDetail,
        leaseExpiredBefore.toISOString(),
        now(),
      ),
  };
}

/**
 * The public `error` of a row failed by an outage: what happened, which kind
 * of service was down, and what a person can do about it. A stable sentence:
 * the raw error (host names, ARNs, SQL) goes to the log and `error_detail`.
 */
export function transientFailureReason(id: string, what: string, lastError: string | null): string {
  // No error recorded: the processor was cut off, or the database it would have written the error to was down.
  const cause = lastError === null ? 'the processor could not finish it (a crash, a timeout, or the database was unavailable)' : `${unavailableService(lastError)} was unavailable`;
  return `${what}: ${cause}. The image itself may be fine; run it again with POST /api/images/${id}/reprocess.`;
}

/** Which service an error's text points at, in words for people. */
function unavailableService(lastError: string): string {
  if (/SQLITE_|libsql|database/i.test(lastError)) return 'the database';
  if (/\bS3\b|bucket|NoSuchKey|\/originals\/|\/thumbnails\//i.test(lastError)) return 'storage';
  if (/\bSQS\b|queue/i.test(lastError)) return 'the job queue';
  return 'a service it depends on (storage, the job queue or the database)';
}
