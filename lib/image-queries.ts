// The read side: list, detail, thumbnail bytes and statistics.
import type { ImageListItem, ImageRecord, ImagesRepository, ImageStats, ListCursor } from './db/images-repository.ts';
import { BadRequestError, ImageNotFoundError, ThumbnailNotReadyError } from './errors.ts';
import type { ThumbnailSize } from './images/thumbnail-sizes.ts';
import { isImageId } from './image-id.ts';
import type { ImageStorage } from './storage.ts';

export const LIST_DEFAULT_LIMIT = 100;
export const LIST_MAX_LIMIT = 1000;

export interface ListQuery {
  limit?: string | undefined;
  cursor?: string | undefined;
  /** `awaiting_upload`: the direct uploads not made yet, which the list otherwise leaves out. */
  status?: string | undefined;
}

export interface ListResult {
  items: ImageListItem[];
  limit: number;
  status: 'awaiting_upload' | undefined;
  /** Opaque; null on the last page. */
  nextCursor: string | null;
}

/** One page of the newest-first list. @throws BadRequestError for a malformed limit or cursor. */
export async function listImages(images: ImagesRepository, query: ListQuery = {}): Promise<ListResult> {
  const limit = parseLimit(query.limit);
  const after = query.cursor === undefined ? null : decodeCursor(query.cursor);
  if (query.status !== undefined && query.status !== 'awaiting_upload') {
    throw new BadRequestError('Invalid status. Only status=awaiting_upload is a filter: every other status is listed by default.');
  }
  const status = query.status;
  const page = await images.list({ limit, after, ...(status === undefined ? {} : { status }) });
  return { items: page.items, limit, status, nextCursor: page.next ? encodeCursor(page.next) : null };
}

function parseLimit(raw: string | undefined): number {
  if (raw === undefined) return LIST_DEFAULT_LIMIT;
  const limit = /^\d{1,4}$/.test(raw) ? Number(raw) : NaN;
  if (!(limit >= 1 && limit <= LIST_MAX_LIMIT)) {
    throw new BadRequestError(`Invalid limit. Use a whole number from 1 to ${LIST_MAX_LIMIT}.`);
  }
  return limit;
}

// The cursor is the last row's sort key. Clients must treat it as opaque, so
// its encoding can change without breaking them.
export function encodeCursor(cursor: ListCursor): string {
  return Buffer.from(JSON.stringify([cursor.createdAt, cursor.id]), 'utf8').toString('base64url');
}

const INVALID_CURSOR = 'Invalid cursor. Use the x-next-cursor of a previous page.';

export function decodeCursor(raw: string): ListCursor {
  if (!/^[A-Za-z0-9_-]{1,400}$/.test(raw)) throw new BadRequestError(INVALID_CURSOR);
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
  } catch {
    throw new BadRequestError(INVALID_CURSOR);
  }
  if (!Array.isArray(parsed) || parsed.length !== 2) throw new BadRequestError(INVALID_CURSOR);
  const [createdAt, id] = parsed as unknown[];
  if (typeof createdAt !== 'string' || typeof id !== 'string' || createdAt === '' || id === '') {
    throw new BadRequestError(INVALID_CURSOR);
  }
  return { createdAt, id };
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
