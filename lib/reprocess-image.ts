// Running images again after an outage. `reprocessImage` (POST
// /api/images/{id}/reprocess) takes one failed image, whatever the cause;
// `redriveFailed` (`npm run redrive`) takes every image that failed for a
// transient cause, optionally since a time. Both move the row back to
// `queued` under a new generation, send its job, and record that SQS
// accepted it; if the send fails the row keeps waiting as an unconfirmed job,
// which the sweeper sends later (lib/sweep.ts).
import type { ImageRecord, ImagesRepository } from './db/images-repository.ts';
import { ConflictError } from './errors.ts';
import { getImage } from './image-queries.ts';
import type { ImageLifecycle } from './image-lifecycle.ts';
import type { Logger } from './log.ts';
import type { JobQueue } from './queue.ts';

export interface ReprocessDeps {
  images: ImagesRepository;
  lifecycle: ImageLifecycle;
  queue: JobQueue;
  logger: Logger;
}

/**
 * @returns the row, `queued`: run again, or already waiting for its job.
 * @throws ImageNotFoundError; ConflictError while it is processing or once it has succeeded.
 */
export async function reprocessImage(deps: ReprocessDeps, id: string): Promise<ImageRecord> {
  const current = await getImage(deps.images, id);
  const requeued = current.status === 'failed' ? await deps.lifecycle.requeue(id, 'any') : null;
  if (requeued) {
    await sendJob(deps, requeued, 'reprocess');
    return requeued;
  }
  // Not failed, or no longer failed by the time of the update (another request requeued it).
  const row = current.status === 'failed' ? await getImage(deps.images, id) : current;
  switch (row.status) {
    case 'awaiting_upload':
      throw new ConflictError('Image has not been uploaded yet. Send the file with the upload form of POST /api/uploads.');
    case 'queued':
      return row;
    case 'processing':
      throw new ConflictError('Image is being processed. Try again once it has finished.');
    case 'success':
      throw new ConflictError('Image was already processed successfully.');
    case 'failed':
      throw new ConflictError('Image could not be queued again. Try again.');
  }
}

export interface RedriveOptions {
  /** Only images that failed at or after this time (ISO 8601); all when absent. */
  since?: string | undefined;
  /** Rows looked up per round. */
  batchSize?: number;
}

export interface RedriveResult {
  /** Rows moved back to `queued`. */
  requeued: number;
  /** Of those, the ones whose job SQS accepted. */
  sent: number;
}

export async function redriveFailed(deps: ReprocessDeps, options: RedriveOptions = {}): Promise<RedriveResult> {
  const result: RedriveResult = { requeued: 0, sent: 0 };
  for (;;) {
    // Each round's rows leave `failed`, so the next look-up finds the next ones.
    const rows = await deps.images.findFailed(['transient'], options.since ?? null, options.batchSize ?? 100);
    let moved = 0;
    for (const row of rows) {
      const requeued = await deps.lifecycle.requeue(row.id, 'transient');
      if (!requeued) continue;
      moved++;
      result.requeued++;
      // A queue outage stops the run; what was requeued waits for the sweeper.
      await sendJob(deps, requeued, 'redrive', true);
      result.sent++;
    }
    if (moved === 0) return result;
  }
}

async function sendJob(deps: ReprocessDeps, row: ImageRecord, by: 'reprocess' | 'redrive', rethrow = false): Promise<void> {
  const log = deps.logger.child({ imageId: row.id });
  try {
    await deps.queue.send({ imageId: row.id, kind: 'process', generation: row.generation });
  } catch (error) {
    log.warn({ err: error, by }, 'image queued again, but its job could not be sent; the sweeper will send it');
    if (rethrow) throw error;
    return;
  }
  await deps.lifecycle.confirmJobSent(row.id, row.generation).catch((error: unknown) => log.warn({ err: error }, 'send not confirmed'));
  log.info({ by, generation: row.generation }, 'image queued again');
}
