// One job through the processor. `process`: original -> thumbnails, metadata,
// EXIF, caption -> final row. The delivery first claims the row with a lease
// (lib/image-lifecycle.ts): a duplicate delivery that finds another delivery
// at work does nothing, so each image's work (and its paid caption call) is
// done once. Permanent problems end the row as `failed` at once; transient
// ones release the row and are rethrown so the queue delivers the message
// again, until the last delivery, which records the failure (transient, so
// it can be run again) instead of leaving the row to the dead-letter queue.
// `caption`: a later attempt at the caption of a finished image, scheduled
// with a growing delay when the caption service had a passing fault; it takes
// the row's lease too, so a duplicate caption job calls the service no more.
// `landed`: the bucket's notification that a direct upload's object is there;
// the row leaves awaiting_upload and the same delivery runs `process`.
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { CaptionStatus } from './db/images-repository.ts';
import { readDirectUpload } from './direct-upload.ts';
import { PermanentProcessingError } from './errors.ts';
import { CaptionError } from './images/caption-error.ts';
import type { Captioner } from './images/caption.ts';
import { readExif } from './images/exif.ts';
import { THUMBNAIL_SIZES } from './images/thumbnail-sizes.ts';
import type { ThumbnailSize } from './images/thumbnail-sizes.ts';
import { renderImage } from './images/thumbnails.ts';
import { transientFailureReason } from './image-lifecycle.ts';
import type { ClaimResult, ImageLifecycle } from './image-lifecycle.ts';
import type { Logger } from './log.ts';
import type { JobQueue, ProcessImageJob } from './queue.ts';
import { uploadedImageId, uploadKey } from './storage.ts';
import type { ImageStorage } from './storage.ts';
import { UNBOUNDED_SLOTS } from './work-slots.ts';
import type { WorkSlots } from './work-slots.ts';

export interface CaptionRetryPolicy {
  /** Attempts in all, the first one included. */
  maxAttempts: number;
  /** Delay before the second attempt; doubled for each later one (SQS caps it at 900 s). */
  baseDelaySeconds: number;
}

export interface PipelineDeps {
  lifecycle: ImageLifecycle;
  storage: ImageStorage;
  queue: JobQueue;
  captioner: Captioner | null;
  logger: Logger;
  maxInputPixels: number;
  exifIncludeGps: boolean;
  captionRetry: CaptionRetryPolicy;
  /** MAX_DIRECT_UPLOAD_BYTES, named in the reason when a direct upload is larger. */
  maxDirectUploadBytes?: number;
  /** Bounds on image work and on caption calls, each its own (lib/work-slots.ts); none when absent. */
  slots?: WorkSlots;
}

export interface Delivery {
  /** The SQS message id; a random one when the caller has none (each call then counts as another message). */
  messageId?: string;
  /** ApproximateReceiveCount of the SQS message. */
  receiveCount: number;
  maxReceiveCount: number;
  /** The generation the job was sent for; absent in older messages. */
  jobGeneration?: number;
}

export type PipelineOutcome = 'success' | 'failed' | 'skipped';

export function runJob(deps: PipelineDeps, job: ProcessImageJob, delivery: Delivery): Promise<PipelineOutcome> {
  const withJob = { ...delivery, ...(job.generation === undefined ? {} : { jobGeneration: job.generation }) };
  if (job.kind === 'landed') return receiveUpload(deps, job.imageId, job.object?.key ?? uploadKey(job.imageId), withJob);
  return job.kind === 'caption' ? retryCaption(deps, job.imageId, withJob) : processImage(deps, job.imageId, withJob);
}

/**
 * A direct upload's object is in the bucket: the row leaves awaiting_upload
 * and this delivery goes on to process it. An object no row waits for (its
 * upload expired and was removed, or there never was one) is deleted.
 */
export async function receiveUpload(deps: PipelineDeps, imageId: string, key: string, delivery: Delivery): Promise<PipelineOutcome> {
  const log = deps.logger.child({ imageId });
  const landing = await deps.lifecycle.objectLanded(imageId, key);
  if (landing.outcome === 'unwanted') {
    await deps.storage.deleteOriginal(key);
    log.warn({ key }, 'object landed for no upload awaiting it (expired or unknown); deleted');
    return 'skipped';
  }
  if (landing.outcome === 'landed') log.info({ key }, 'direct upload landed');
  return processImage(deps, imageId, delivery);
}

export async function processImage(deps: PipelineDeps, imageId: string, delivery: Delivery): Promise<PipelineOutcome> {
  const log = deps.logger.child({ imageId });
  const claim = await deps.lifecycle.claim(imageId, deliveryRef(delivery));
  if (claim.outcome !== 'claimed') {
    logRefusal(log, claim, 'image');
    return 'skipped';
  }
  const { record: claimed, token } = claim;
  log.info({ attempt: claimed.attempts, receiveCount: delivery.receiveCount, generation: claimed.generation }, 'processing started');
  const started = performance.now();
  const elapsed = (): number => Math.round((performance.now() - started) * 10) / 10;

  try {
    // A direct upload is checked before anything decodes it (lib/direct-upload.ts).
    const original =
      uploadedImageId(claimed.originalKey) === null
        ? await deps.storage.getOriginal(claimed.originalKey)
        : await readDirectUpload(deps.storage, claimed, deps.maxDirectUploadBytes);
    if (!original) throw new PermanentProcessingError('Original image is missing from storage');

    const [rendered, exif] = await (deps.slots ?? UNBOUNDED_SLOTS).image(() =>
      Promise.all([renderImage(original, { maxInputPixels: deps.maxInputPixels }), readExif(original, { includeGps: deps.exifIncludeGps })]),
    );
    await Promise.all(
      (Object.keys(THUMBNAIL_SIZES) as ThumbnailSize[]).map((size) => deps.storage.putThumbnail(imageId, size, rendered.thumbnails[size].data)),
    );
    const caption = await attemptCaption(deps, rendered.thumbnails.medium.data, 1, log);

    const processingTimeMs = elapsed();
    const finished = await deps.lifecycle.succeed(imageId, token, {
      ...rendered.metadata,
      exif: exif ? JSON.stringify(exif) : null,
      caption: caption.text,
      captionStatus: caption.status,
      captionError: caption.error,
      captionAttempts: caption.status === 'off' ? 0 : 1,
      processingTimeMs,
      processedAt: new Date().toISOString(),
    });
    if (!finished) {
      log.warn('lease lost before the image was finished (another delivery took over); result discarded');
      return 'skipped';
    }
    log.info({ processingTimeMs, width: rendered.metadata.width, height: rendered.metadata.height, captionStatus: caption.status }, 'processing succeeded');
    if (caption.status === 'pending') await scheduleCaptionRetry(deps, imageId, 1, log);
    return 'success';
  } catch (error) {
    // An older generation's last delivery is not the job's last: the current
    // generation's message still has its own deliveries.
    const currentJob = delivery.jobGeneration === undefined || delivery.jobGeneration === claimed.generation;
    const lastDelivery = currentJob && delivery.receiveCount >= delivery.maxReceiveCount;
    if (error instanceof PermanentProcessingError || lastDelivery) {
      const failure =
        error instanceof PermanentProcessingError
          ? { reason: error.message, detail: error.cause === undefined ? null : errorMessage(error.cause), kind: 'permanent' as const }
          : {
              reason: transientFailureReason(imageId, `Processing failed after ${delivery.receiveCount} attempts`, errorMessage(error)),
              detail: errorMessage(error),
              kind: 'transient' as const,
            };
      if (!(await deps.lifecycle.fail(imageId, token, { ...failure, processingTimeMs: elapsed() }))) {
        log.warn({ err: error }, 'lease lost before the failure was recorded (another delivery took over)');
        return 'skipped';
      }
      log.warn({ err: error, reason: failure.reason, failureKind: failure.kind }, 'processing failed');
      return 'failed';
    }
    log.warn({ err: error, receiveCount: delivery.receiveCount }, 'processing hit a transient error; the message will be retried');
    // Best effort: if the database is what failed, the lease runs out by itself.
    await deps.lifecycle.release(imageId, token, errorMessage(error)).catch(() => undefined);
    throw error;
  }
}

/** A later caption attempt; the caption's own failures are recorded, never thrown. */
export async function retryCaption(deps: PipelineDeps, imageId: string, delivery: Delivery): Promise<PipelineOutcome> {
  const log = deps.logger.child({ imageId });
  const claim = await deps.lifecycle.claimCaption(imageId, deliveryRef(delivery));
  if (claim.outcome !== 'claimed') {
    logRefusal(log, claim, 'caption');
    return 'skipped';
  }
  const { record, token } = claim;
  try {
    const thumbnail = await deps.storage.getThumbnail(imageId, 'medium');
    const attempt = record.captionAttempts + 1;
    const caption = thumbnail
      ? await attemptCaption(deps, thumbnail, attempt, log)
      : { text: null, status: 'failed' as const, error: 'Thumbnail missing for captioning' };
    if (!(await deps.lifecycle.recordCaptionAttempt(imageId, token, { caption: caption.text, captionStatus: caption.status, captionError: caption.error }))) {
      log.warn({ attempt }, 'caption lease lost before the attempt was recorded; outcome discarded');
      return 'skipped';
    }
    log.info({ attempt, captionStatus: caption.status }, 'caption retried');
    if (caption.status === 'pending') await scheduleCaptionRetry(deps, imageId, attempt, log);
    return caption.status === 'done' ? 'success' : caption.status === 'pending' ? 'skipped' : 'failed';
  } catch (error) {
    await deps.lifecycle.releaseCaption(imageId, token).catch(() => undefined);
    throw error;
  }
}

function deliveryRef(delivery: Delivery): { messageId: string; receiveCount: number } {
  return { messageId: delivery.messageId ?? randomUUID(), receiveCount: delivery.receiveCount };
}

function logRefusal(log: Logger, claim: Exclude<ClaimResult, { outcome: 'claimed' }>, what: 'image' | 'caption'): void {
  switch (claim.outcome) {
    case 'missing':
      log.warn(`${what} job for an unknown image; skipped`);
      return;
    case 'leased':
      log.info({ leaseExpiresAt: claim.record.leaseExpiresAt }, `duplicate delivery while another delivery holds the ${what}'s lease; skipped`);
      return;
    case 'done':
      log.info({ status: claim.record.status, captionStatus: claim.record.captionStatus }, what === 'image' ? 'duplicate delivery of a finished image; skipped' : 'caption retry not needed; skipped');
  }
}

interface CaptionOutcome {
  text: string | null;
  status: CaptionStatus;
  error: string | null;
}

/** A caption is a bonus: its failure is recorded, never fatal to the image. */
async function attemptCaption(deps: PipelineDeps, jpeg: Buffer, attempt: number, log: Logger): Promise<CaptionOutcome> {
  if (!deps.captioner) return { text: null, status: 'off', error: null };
  try {
    const { captioner } = deps;
    return { text: await (deps.slots ?? UNBOUNDED_SLOTS).caption(() => captioner.caption(jpeg)), status: 'done', error: null };
  } catch (error) {
    const retryable = error instanceof CaptionError && error.retryable && attempt < deps.captionRetry.maxAttempts;
    log.warn({ err: error, attempt, retryable }, retryable ? 'caption failed; will retry later' : 'caption failed; image kept without caption');
    return { text: null, status: retryable ? 'pending' : 'failed', error: errorMessage(error) };
  }
}

/**
 * Sends the job of the next caption attempt and records that SQS accepted it.
 * When either step fails the caption stays `pending` with no job recorded,
 * and the sweeper sends one later: nothing is left waiting forever.
 */
async function scheduleCaptionRetry(deps: PipelineDeps, imageId: string, attemptsSoFar: number, log: Logger): Promise<void> {
  const delaySeconds = Math.min(900, deps.captionRetry.baseDelaySeconds * 2 ** (attemptsSoFar - 1));
  try {
    await deps.queue.send({ imageId, kind: 'caption' }, { delaySeconds });
    await deps.lifecycle.confirmCaptionJobSent(imageId);
    log.info({ delaySeconds, attemptsSoFar }, 'caption retry scheduled');
  } catch (error) {
    log.warn({ err: error }, 'caption retry could not be scheduled; the sweeper will send it');
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
