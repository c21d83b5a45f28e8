// The backstop for "no row waits forever": a row still `queued` long after its
// upload may have lost its message (the upload stopped between the insert and
// the send), so it is enqueued again; the processor is idempotent, so a
// duplicate costs nothing. A row `processing` for longer than every delivery
// could take is marked failed.
import type { ImagesRepository } from './db/images-repository.ts';
import type { Logger } from './log.ts';
import type { JobQueue } from './queue.ts';

export interface SweepDeps {
  images: ImagesRepository;
  queue: JobQueue;
  logger: Logger;
}

export interface SweepOptions {
  now: Date;
  staleQueuedSeconds: number;
  staleProcessingSeconds: number;
  limit?: number;
}

export async function sweepStaleImages(deps: SweepDeps, options: SweepOptions): Promise<{ requeued: number; failed: number }> {
  const at = (secondsAgo: number): string => new Date(options.now.getTime() - secondsAgo * 1000).toISOString();
  const now = options.now.toISOString();
  const stale = await deps.images.findStale(at(options.staleQueuedSeconds), at(options.staleProcessingSeconds), options.limit ?? 100);
  let requeued = 0;
  let failed = 0;
  for (const row of stale) {
    const log = deps.logger.child({ imageId: row.id });
    if (row.status === 'queued') {
      await deps.queue.send({ imageId: row.id, kind: 'process' });
      await deps.images.touch(row.id, now);
      requeued++;
      log.warn({ since: row.updatedAt }, 'stale queued image enqueued again');
    } else {
      const reason = `Processing did not finish within ${options.staleProcessingSeconds} s${row.error ? `: ${row.error}` : ''}`;
      if (await deps.images.markFailed(row.id, reason, null, now)) failed++;
      log.warn({ since: row.updatedAt, reason }, 'stale processing image marked failed');
    }
  }
  return { requeued, failed };
}
