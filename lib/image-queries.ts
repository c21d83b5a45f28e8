// The read side: list, detail, thumbnail bytes and statistics.
import type { ImageRecord, ImagesRepository, ImageStats } from './db/images-repository.ts';
import { ImageNotFoundError, ThumbnailNotReadyError } from './errors.ts';
import type { ThumbnailSize } from './images/thumbnails.ts';
import { isImageId } from './queue.ts';
import type { ImageStorage } from './storage.ts';

export function listImages(images: ImagesRepository): Promise<ImageRecord[]> {
  return images.list();
}

export async function getImage(images: ImagesRepository, id: string): Promise<ImageRecord> {
  // A malformed id cannot name an image: same answer as an unknown one, no query.
  const record = isImageId(id) ? await images.find(id) : null;
  if (!record) throw new ImageNotFoundError();
  return record;
}

export async function getThumbnail(deps: { images: ImagesRepository; storage: ImageStorage }, id: string, size: ThumbnailSize): Promise<Buffer> {
  const record = await getImage(deps.images, id);
  if (record.status !== 'success') throw new ThumbnailNotReadyError();
  const bytes = await deps.storage.getThumbnail(id, size);
  if (!bytes) throw new ThumbnailNotReadyError();
  return bytes;
}

export function getStats(images: ImagesRepository): Promise<ImageStats> {
  return images.stats();
}
