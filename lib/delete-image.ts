// DELETE /api/images/{id}: the original, both thumbnails, then the row. The
// stats counters, the search index and the image's Idempotency-Key follow the
// row by their triggers (lib/db/schema.ts, lib/db/search-schema.ts).
//
// Objects first, the row last: when a step fails the client gets 503 and a
// retry finds the row and finishes the job (deleting an object that is already
// gone succeeds). The other order would leave objects no one can find again.
// A row a delivery is processing is refused with 409, since the processor
// would store thumbnails after they were deleted; the row's DELETE checks the
// lease again in the same statement.
import type { ImageRecord, ImagesRepository } from './db/images-repository.ts';
import { ConflictError, ImageNotFoundError, ServiceUnavailableError } from './errors.ts';
import { getImage } from './image-queries.ts';
import type { Logger } from './log.ts';
import type { ImageStorage } from './storage.ts';

export interface DeleteImageDeps {
  images: ImagesRepository;
  storage: ImageStorage;
  logger: Logger;
}

export const IMAGE_BEING_PROCESSED = 'The image is being processed. Try again in a few seconds.';

/** @returns the row as it was. @throws ImageNotFoundError, ConflictError while processing, ServiceUnavailableError. */
export async function deleteImage(deps: DeleteImageDeps, id: string, now: Date = new Date()): Promise<ImageRecord> {
  const record = await unavailable('Database', deps.logger, () => getImage(deps.images, id));
  const log = deps.logger.child({ imageId: record.id });
  if (record.status === 'processing' && record.leaseToken !== null && (record.leaseExpiresAt ?? '') > now.toISOString()) {
    throw new ConflictError(IMAGE_BEING_PROCESSED);
  }
  await unavailable('Storage', log, () => Promise.all([deps.storage.deleteOriginal(record.originalKey), deps.storage.deleteThumbnails(record.id)]));
  const deleted = await unavailable('Database', log, () => deps.images.deleteUnlessProcessing(record.id, now.toISOString()));
  if (!deleted) {
    // Claimed since it was read (its original is gone, so that delivery fails it), or deleted by a concurrent request.
    if ((await unavailable('Database', log, () => deps.images.find(record.id))) === null) throw new ImageNotFoundError();
    throw new ConflictError(IMAGE_BEING_PROCESSED);
  }
  log.info({ status: record.status, originalName: record.originalName }, 'image deleted');
  return record;
}

async function unavailable<T>(what: 'Database' | 'Storage', log: Logger, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    if (error instanceof ImageNotFoundError) throw error;
    log.error({ err: error }, `delete: ${what.toLowerCase()} unavailable`);
    throw new ServiceUnavailableError(`${what} is unavailable. Please try again.`, { cause: error });
  }
}
