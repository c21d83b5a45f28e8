// The backstop for "nothing waits forever", run on a schedule. It never sends
// a job for a row that is merely waiting in a long queue: only for rows whose
// send SQS never confirmed (the upload, reprocess or redrive stopped between
// recording the job and sending it), and for pending captions with no attempt
// scheduled (the processor stopped after finishing the image, or could not
// schedule the retry). A row whose lease ran out long ago and that no delivery
// took over is marked failed (transient: it can be run again). Expired
// Idempotency-Keys are deleted.
import type { ImagesRepository } from './db/images-repository.ts';
import { IDEMPOTENCY_KEY_HOURS } from './image-lifecycle.ts';
import type { ImageLifecycle } from './image-lifecycle.ts';
import type { Logger } from './log.ts';
import type { JobQueue } from './queue.ts';

export interface SweepDeps {
  images: ImagesRepository;
  lifecycle: ImageLifecycle;
  queue: JobQueue;
  logger: Logger;
}

export interface SweepOptions {
  now: Date;
  /** A job unconfirmed this long is sent (again); a pending caption with no job this long gets one. */
  staleQueuedSeconds: number;
  /** A lease that ran out this long ago with nobody taking over fails the row. */
  staleProcessingSeconds: number;
  limit?: number;
}

export interface SweepResult {
  /** Jobs sent for rows whose send was never confirmed. */
  resent: number;
  /** Rows failed because their lease ran out long ago. */
  failed: number;
  /** Caption jobs sent for pending captions with none scheduled. */
  captionsResent: number;
  idempotencyKeysDeleted: number;
}

export async function sweepStaleImages(deps: SweepDeps, options: SweepOptions): Promise<SweepResult> {
  const at = (secondsAgo: number): string => new Date(options.now.getTime() - secondsAgo * 1000).toISOString();
  const limit = options.limit ?? 100;
  const result: SweepResult = { resent: 0, failed: 0, captionsResent: 0, idempotencyKeysDeleted: 0 };

  for (const row of await deps.images.findUnsentJobs(at(options.staleQueuedSeconds), limit)) {
    await deps.queue.send({ imageId: row.id, kind: 'process', generation: row.generation });
    await deps.lifecycle.confirmJobSent(row.id, row.generation);
    result.resent++;
    deps.logger.warn({ imageId: row.id, since: row.updatedAt }, 'job never confirmed sent; sent again');
  }

  const leaseExpiredBefore = new Date(options.now.getTime() - options.staleProcessingSeconds * 1000);
  for (const row of await deps.images.findAbandoned(leaseExpiredBefore.toISOString(), limit)) {
    const failed = await deps.lifecycle.failAbandoned(row, options.staleProcessingSeconds, leaseExpiredBefore);
    if (failed) result.failed++;
    deps.logger.warn({ imageId: row.id, leaseExpiresAt: row.leaseExpiresAt, failed }, failed ? 'abandoned processing image marked failed' : 'abandoned image was taken over meanwhile; left alone');
  }

  for (const row of await deps.images.findUnscheduledCaptions(at(options.staleQueuedSeconds), options.now.toISOString(), limit)) {
    await deps.queue.send({ imageId: row.id, kind: 'caption' });
    await deps.lifecycle.confirmCaptionJobSent(row.id);
    result.captionsResent++;
    deps.logger.warn({ imageId: row.id, captionAttempts: row.captionAttempts }, 'pending caption had no retry scheduled; caption job sent');
  }

  result.idempotencyKeysDeleted = await deps.images.deleteExpiredIdempotencyKeys(at(IDEMPOTENCY_KEY_HOURS * 3600));
  return result;
}
