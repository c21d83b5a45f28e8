// The read side: list, detail, thumbnail bytes and statistics.
import type { ImageListItem, ImageRecord, ImagesRepository, ImageStats, ImageStatus, ListCursor } from './db/images-repository.ts';
import { BadRequestError, ImageNotFoundError, ThumbnailNotReadyError } from './errors.ts';
import type { ThumbnailSize } from './images/thumbnail-sizes.ts';
import { isImageId } from './image-id.ts';
import type { ImageStorage } from './storage.ts';
import { searchMatchExpression } from './db/search-schema.ts';

export const LIST_DEFAULT_LIMIT = 100;
export const LIST_MAX_LIMIT = 1000;

/** Every status a row can have, for `?status=` (and the OpenAPI document). */
export const IMAGE_STATUSES = ['awaiting_upload', 'queued', 'processing', 'success', 'failed'] as const satisfies readonly ImageStatus[];
// A status added to ImageStatus but not above fails the typecheck here.
const everyStatusListed: Exclude<ImageStatus, (typeof IMAGE_STATUSES)[number]> extends never ? true : never = true;
void everyStatusListed;

/** `?q=`: at most this many characters and words, so one request cannot ask for an unbounded query. */
export const SEARCH_MAX_LENGTH = 200;
export const SEARCH_MAX_TERMS = 10;

export interface ListQuery {
  limit?: string | undefined;
  cursor?: string | undefined;
  /** Only this status; without it every image but the direct uploads not made yet (`awaiting_upload`). */
  status?: string | undefined;
  /** Words that each must be in the file name, the caption or the camera make and model. */
  q?: string | undefined;
}

export interface ListResult {
  items: ImageListItem[];
  limit: number;
  status: ImageStatus | undefined;
  q: string | undefined;
  /** Opaque; null on the last page. */
  nextCursor: string | null;
}

/** One page of the newest-first list. @throws BadRequestError for a malformed limit or cursor. */
export async function listImages(images: ImagesRepository, query: ListQuery = {}): Promise<ListResult> {
  const limit = parseLimit(query.limit);
  const after = query.cursor === undefined ? null : decodeCursor(query.cursor);
  const status = parseStatus(query.status);
  const search = query.q === undefined ? undefined : parseSearch(query.q);
  const page = await images.list({ limit, after, ...(status === undefined ? {} : { status }), ...(search === undefined ? {} : { search }) });
  return { items: page.items, limit, status, q: search === undefined ? undefined : query.q, nextCursor: page.next ? encodeCursor(page.next) : null };
}

function parseStatus(raw: string | undefined): ImageStatus | undefined {
  if (raw === undefined) return undefined;
  const status = IMAGE_STATUSES.find((known) => known === raw);
  if (status === undefined) throw new BadRequestError(`Invalid status. Use one of ${IMAGE_STATUSES.join(', ')}.`);
  return status;
}

/** The words of `?q=`; an empty or blank q lists everything, as if it were not sent. */
function parseSearch(raw: string): string[] | undefined {
  if (raw.length > SEARCH_MAX_LENGTH) throw new BadRequestError(`Invalid q. Use at most ${SEARCH_MAX_LENGTH} characters.`);
  const terms = raw.split(/\s+/).filter((term) => term !== '');
  if (terms.length > SEARCH_MAX_TERMS) throw new BadRequestError(`Invalid q. Use at most ${SEARCH_MAX_TERMS} words.`);
  if (terms.length === 0) return undefined;
  if (searchMatchExpression(terms) === null) throw new BadRequestError('Invalid q. Search for words or numbers: punctuation alone finds nothing.');
  return terms;
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
