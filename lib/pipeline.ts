// One job through the processor. `process`: original -> thumbnails, metadata,
// EXIF, caption -> final row. Permanent problems end the row as `failed` at
// once; transient ones are rethrown so the queue delivers the message again,
// until the last delivery, which records the failure instead of leaving the
// row `processing` while the message moves to the dead-letter queue.
// `caption`: a later attempt at the caption of a finished image, scheduled
// with a growing delay when the caption service had a passing fault.
import { performance } from 'node:perf_hooks';
import type { CaptionStatus, ImagesRepository } from './db/images-repository.ts';
import { PermanentProcessingError } from './errors.ts';
import { CaptionError } from './images/caption.ts';
import type { Captioner } from './images/caption.ts';
import { readExif } from './images/exif.ts';
import { THUMBNAIL_SIZES } from './images/thumbnail-sizes.ts';
import type { ThumbnailSize } from './images/thumbnail-sizes.ts';
import { renderImage } from './images/thumbnails.ts';
import type { Logger } from './log.ts';
import type { JobQueue, ProcessImageJob } from './queue.ts';
import type { ImageStorage } from './storage.ts';

export interface CaptionRetryPolicy {
  /** Attempts in all, the first one included. */
  maxAttempts: number;
  /** Delay before the second attempt; doubled for each later one (SQS caps it at 900 s). */
  baseDelaySeconds: number;
}

export interface PipelineDeps {
  images: ImagesRepository;
  storage: ImageStorage;
  queue: JobQueue;
  captioner: Captioner | null;
  logger: Logger;
  maxInputPixels: number;
  exifIncludeGps: boolean;
  captionRetry: CaptionRetryPolicy;
}

export interface Delivery {
  /** ApproximateReceiveCount of the SQS message. */
  receiveCount: number;
  maxReceiveCount: number;
}

export type PipelineOutcome = 'success' | 'failed' | 'skipped';

export function runJob(deps: PipelineDeps, job: ProcessImageJob, delivery: Delivery): Promise<PipelineOutcome> {
  return job.kind === 'caption' ? retryCaption(deps, job.imageId) : processImage(deps, job.imageId, delivery);
}

export async function processImage(deps: PipelineDeps, imageId: string, delivery: Delivery): Promise<PipelineOutcome> {
  const log = deps.logger.child({ imageId });
  const claimed = await deps.images.claim(imageId, new Date().toISOString());
  if (!claimed) {
    const existing = await deps.images.find(imageId);
    log.warn({ status: existing?.status ?? 'unknown' }, existing ? 'duplicate delivery of a finished image; skipped' : 'job for an unknown image; skipped');
    return 'skipped';
  }
  log.info({ attempt: claimed.attempts, receiveCount: delivery.receiveCount }, 'processing started');
  const started = performance.now();
  const elapsed = (): number => Math.round((performance.now() - started) * 10) / 10;

  try {
    const original = await deps.storage.getOriginal(claimed.originalKey);
    if (!original) throw new PermanentProcessingError('Original image is missing from storage');

    const [rendered, exif] = await Promise.all([
      renderImage(original, { maxInputPixels: deps.maxInputPixels }),
      readExif(original, { includeGps: deps.exifIncludeGps }),
    ]);
    await Promise.all(
      (Object.keys(THUMBNAIL_SIZES) as ThumbnailSize[]).map((size) => deps.storage.putThumbnail(imageId, size, rendered.thumbnails[size].data)),
    );
    const caption = await attemptCaption(deps, rendered.thumbnails.medium.data, 1, log);

    const processingTimeMs = elapsed();
    const finished = await deps.images.markSuccess(imageId, {
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
      log.info('image already finished by another delivery');
      return 'skipped';
    }
    log.info({ processingTimeMs, width: rendered.metadata.width, height: rendered.metadata.height, captionStatus: caption.status }, 'processing succeeded');
    if (caption.status === 'pending') await scheduleCaptionRetry(deps, imageId, 1, log);
    return 'success';
  } catch (error) {
    const lastDelivery = delivery.receiveCount >= delivery.maxReceiveCount;
    if (error instanceof PermanentProcessingError || lastDelivery) {
      const reason =
        error instanceof PermanentProcessingError
          ? error.message
          : `Processing failed after ${delivery.receiveCount} attempts: ${errorMessage(error)}`;
      await deps.images.markFailed(imageId, reason, elapsed(), new Date().toISOString());
      log.warn({ err: error, reason }, 'processing failed');
      return 'failed';
    }
    log.warn({ err: error, receiveCount: delivery.receiveCount }, 'processing hit a transient error; the message will be retried');
    await deps.images.recordRetryableError(imageId, errorMessage(error), new Date().toISOString()).catch(() => undefined);
    throw error;
  }
}

/** A later caption attempt; its own failures are recorded, never thrown. */
export async function retryCaption(deps: PipelineDeps, imageId: string): Promise<PipelineOutcome> {
  const log = deps.logger.child({ imageId });
  const record = await deps.images.find(imageId);
  if (!record || record.status !== 'success' || record.captionStatus !== 'pending') {
    log.info({ status: record?.status, captionStatus: record?.captionStatus }, 'caption retry not needed; skipped');
    return 'skipped';
  }
  const now = (): string => new Date().toISOString();
  const thumbnail = await deps.storage.getThumbnail(imageId, 'medium');
  if (!thumbnail) {
    await deps.images.updateCaption(imageId, { caption: null, captionStatus: 'failed', captionError: 'Thumbnail missing for captioning', now: now() });
    return 'failed';
  }
  const attempt = record.captionAttempts + 1;
  const caption = await attemptCaption(deps, thumbnail, attempt, log);
  await deps.images.updateCaption(imageId, { caption: caption.text, captionStatus: caption.status, captionError: caption.error, now: now() });
  log.info({ attempt, captionStatus: caption.status }, 'caption retried');
  if (caption.status === 'pending') await scheduleCaptionRetry(deps, imageId, attempt, log);
  return caption.status === 'done' ? 'success' : caption.status === 'pending' ? 'skipped' : 'failed';
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
    return { text: await deps.captioner.caption(jpeg), status: 'done', error: null };
  } catch (error) {
    const retryable = error instanceof CaptionError && error.retryable && attempt < deps.captionRetry.maxAttempts;
    log.warn({ err: error, attempt, retryable }, retryable ? 'caption failed; will retry later' : 'caption failed; image kept without caption');
    return { text: null, status: retryable ? 'pending' : 'failed', error: errorMessage(error) };
  }
}

async function scheduleCaptionRetry(deps: PipelineDeps, imageId: string, attemptsSoFar: number, log: Logger): Promise<void> {
  const delaySeconds = Math.min(900, deps.captionRetry.baseDelaySeconds * 2 ** (attemptsSoFar - 1));
  try {
    await deps.queue.send({ imageId, kind: 'caption' }, { delaySeconds });
    log.info({ delaySeconds, attemptsSoFar }, 'caption retry scheduled');
  } catch (error) {
    log.warn({ err: error }, 'caption retry could not be scheduled');
    await deps.images.updateCaption(imageId, {
      caption: null,
      captionStatus: 'failed',
      captionError: `Caption retry could not be scheduled: ${errorMessage(error)}`,
      now: new Date().toISOString(),
    });
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
