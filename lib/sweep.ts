// The backstop for "nothing waits forever", run on a schedule. It never sends
// a job for a row that is merely waiting in a long queue: only for rows whose
// send SQS never confirmed (the upload, reprocess or redrive stopped between
// recording the job and sending it), and for pending captions with no attempt
// scheduled (the processor stopped after finishing the image, or could not
// schedule the retry). A row whose lease ran out long ago and that no delivery
// took over is marked failed (transient: it can be run again). Expired
// Idempotency-Keys are deleted. A direct upload still awaited past its
// expiry and grace period is removed, unless its object is in the bucket
// after all (the notification was lost): then it is landed and its job sent.
import type { ImagesRepository } from './db/images-repository.ts';
import { IDEMPOTENCY_KEY_HOURS } from './image-lifecycle.ts';
import type { ImageLifecycle } from './image-lifecycle.ts';
import type { Logger } from './log.ts';
import type { JobQueue } from './queue.ts';
import type { ImageStorage } from './storage.ts';

export interface SweepDeps {
  images: ImagesRepository;
  lifecycle: ImageLifecycle;
  queue: JobQueue;
  storage: ImageStorage;
  logger: Logger;
}

export interface SweepOptions {
  now: Date;
  /** A job unconfirmed this long is sent (again); a pending caption with no job this long gets one. */
  staleQueuedSeconds: number;
  /** A lease that ran out this long ago with nobody taking over fails the row. */
  staleProcessingSeconds: number;
  /** A direct upload unused this long past its expiry is removed (UPLOAD_EXPIRY_GRACE_SECONDS); 0 when not given. */
  uploadGraceSeconds?: number;
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
  /** Direct uploads never made: rows removed. */
  uploadsExpired: number;
  /** Direct uploads whose object was found although no notification came: landed and sent. */
  uploadsLanded: number;
}

export async function sweepStaleImages(deps: SweepDeps, options: SweepOptions): Promise<SweepResult> {
  const at = (secondsAgo: number): string => new Date(options.now.getTime() - secondsAgo * 1000).toISOString();
  const limit = options.limit ?? 100;
  const result: SweepResult = { resent: 0, failed: 0, captionsResent: 0, idempotencyKeysDeleted: 0, uploadsExpired: 0, uploadsLanded: 0 };

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

  for (const row of await deps.images.findExpiredUploads(at(options.uploadGraceSeconds ?? 0), limit)) {
    if (await deps.storage.statObject(row.originalKey)) {
      const landed = await deps.lifecycle.landFound(row);
      if (!landed) continue;
      await deps.queue.send({ imageId: row.id, kind: 'process', generation: landed.generation });
      await deps.lifecycle.confirmJobSent(row.id, landed.generation);
      result.uploadsLanded++;
      deps.logger.warn({ imageId: row.id, uploadExpiresAt: row.uploadExpiresAt }, 'direct upload found in the bucket with no notification; landed and sent');
    } else if (await deps.lifecycle.expireUnused(row.id)) {
      result.uploadsExpired++;
      deps.logger.info({ imageId: row.id, uploadExpiresAt: row.uploadExpiresAt }, 'direct upload never made; row removed');
    }
  }

  result.idempotencyKeysDeleted = await deps.images.deleteExpiredIdempotencyKeys(at(IDEMPOTENCY_KEY_HOURS * 3600));
  return result;
}
