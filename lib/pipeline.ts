// One image through the processor: original -> thumbnails, metadata, EXIF,
// caption -> final row. Permanent problems end the row as `failed` at once;
// transient ones are rethrown so the queue delivers the message again, until
// the last delivery, which records the failure instead of leaving the row
// `processing` while the message moves to the dead-letter queue.
import { performance } from 'node:perf_hooks';
import type { CaptionStatus, ImagesRepository } from './db/images-repository.ts';
import { PermanentProcessingError } from './errors.ts';
import type { Captioner } from './images/caption.ts';
import { readExif } from './images/exif.ts';
import { renderImage, THUMBNAIL_SIZES } from './images/thumbnails.ts';
import type { ThumbnailSize } from './images/thumbnails.ts';
import type { Logger } from './log.ts';
import type { ProcessImageJob } from './queue.ts';
import type { ImageStorage } from './storage.ts';

export interface PipelineDeps {
  images: ImagesRepository;
  storage: ImageStorage;
  captioner: Captioner | null;
  logger: Logger;
  maxInputPixels: number;
  exifIncludeGps: boolean;
}

export interface Delivery {
  /** ApproximateReceiveCount of the SQS message. */
  receiveCount: number;
  maxReceiveCount: number;
}

export type PipelineOutcome = 'success' | 'failed' | 'skipped';

export async function processImage(deps: PipelineDeps, job: ProcessImageJob, delivery: Delivery): Promise<PipelineOutcome> {
  const log = deps.logger.child({ imageId: job.imageId });
  const claimed = await deps.images.claim(job.imageId, new Date().toISOString());
  if (!claimed) {
    const existing = await deps.images.find(job.imageId);
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
      (Object.keys(THUMBNAIL_SIZES) as ThumbnailSize[]).map((size) => deps.storage.putThumbnail(job.imageId, size, rendered.thumbnails[size].data)),
    );
    const caption = await captionImage(deps.captioner, rendered.thumbnails.medium.data, log);

    const processingTimeMs = elapsed();
    const finished = await deps.images.markSuccess(job.imageId, {
      ...rendered.metadata,
      exif: exif ? JSON.stringify(exif) : null,
      caption: caption.text,
      captionStatus: caption.status,
      captionError: caption.error,
      processingTimeMs,
      processedAt: new Date().toISOString(),
    });
    log.info({ processingTimeMs, width: rendered.metadata.width, height: rendered.metadata.height, captionStatus: caption.status }, finished ? 'processing succeeded' : 'image already finished by another delivery');
    return finished ? 'success' : 'skipped';
  } catch (error) {
    const lastDelivery = delivery.receiveCount >= delivery.maxReceiveCount;
    if (error instanceof PermanentProcessingError || lastDelivery) {
      const reason =
        error instanceof PermanentProcessingError
          ? error.message
          : `Processing failed after ${delivery.receiveCount} attempts: ${errorMessage(error)}`;
      await deps.images.markFailed(job.imageId, reason, elapsed(), new Date().toISOString());
      log.warn({ err: error, reason }, 'processing failed');
      return 'failed';
    }
    log.warn({ err: error, receiveCount: delivery.receiveCount }, 'processing hit a transient error; the message will be retried');
    throw error;
  }
}

interface CaptionOutcome {
  text: string | null;
  status: CaptionStatus;
  error: string | null;
}

/** A caption is a bonus: its failure is recorded, never fatal to the image. */
async function captionImage(captioner: Captioner | null, jpeg: Buffer, log: Logger): Promise<CaptionOutcome> {
  if (!captioner) return { text: null, status: 'off', error: null };
  try {
    return { text: await captioner.caption(jpeg), status: 'done', error: null };
  } catch (error) {
    log.warn({ err: error }, 'caption failed; image kept without caption');
    return { text: null, status: 'failed', error: errorMessage(error) };
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
