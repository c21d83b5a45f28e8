// Accepting an upload: validate the bytes, store the original, record a queued
// row, enqueue the job and record that SQS accepted it. Each step that fails
// undoes the ones before it, so no row ever waits for a message that was never
// sent; if the upload stops between the send and its confirmation, the sweeper
// sends the job again (lib/sweep.ts). With an Idempotency-Key, a retried request
// answers the image the first one created and stores nothing new.
import { createHash, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { IdempotencyKeyRecord, ImageRecord, ImagesRepository } from './db/images-repository.ts';
import {
  BadRequestError,
  ConflictError,
  PayloadTooLargeError,
  ServiceUnavailableError,
  UnprocessableRequestError,
  UnsupportedTypeError,
} from './errors.ts';
import { CONTENT_TYPES, sniffImageFormat } from './images/sniff.ts';
import { IDEMPOTENCY_KEY_HOURS } from './image-lifecycle.ts';
import type { ImageLifecycle } from './image-lifecycle.ts';
import type { Logger } from './log.ts';
import type { JobQueue } from './queue.ts';
import { originalKey } from './storage.ts';
import type { ImageStorage } from './storage.ts';

export interface UploadDeps {
  storage: ImageStorage;
  images: ImagesRepository;
  lifecycle: ImageLifecycle;
  queue: JobQueue;
  logger: Logger;
  maxUploadBytes: number;
}

export interface UploadOptions {
  /** The client's Idempotency-Key header, if it sent one. */
  idempotencyKey?: string | undefined;
}

export interface UploadResult {
  record: ImageRecord;
  /** True when an earlier request with the same Idempotency-Key created the image. */
  replayed: boolean;
}

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;
/** How long a retry waits for a first request with the same key that is still sending its job. */
const IN_FLIGHT_WAIT_MS = 3_000;

export interface UploadedFile {
  filename: string | undefined;
  content: Buffer;
}

const MAX_NAME_LENGTH = 255;

// C0 and C1 controls (\p{Cc}); Unicode line and paragraph separators, which
// break log lines like LF does; and the bidirectional marks and overrides,
// with which "photo\u202Egpj.exe" displays as "photoexe.jpg".
const UNSAFE_NAME_CHARS = /[\p{Cc}\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu;

/** Keeps what a person would call the file's name: no path, no control characters, bounded length. */
export function sanitizeFileName(raw: string | undefined): string {
  const base = (raw ?? '').split(/[\\/]/).pop() ?? '';
  const clean = base.replace(UNSAFE_NAME_CHARS, '').trim();
  const chars = Array.from(clean);
  // A long name keeps its extension: "xxxx….jpg" stays recognisable as a JPEG.
  const extension = chars.length > MAX_NAME_LENGTH ? (/\.[^.\s]{1,10}$/u.exec(clean)?.[0] ?? '') : '';
  const stem = chars.slice(0, MAX_NAME_LENGTH - extension.length).join('').trimEnd();
  const bounded = stem + extension;
  return stem === '' || bounded === '.' || bounded === '..' ? 'upload' : bounded;
}

export async function uploadImage(deps: UploadDeps, file: UploadedFile | undefined, options: UploadOptions = {}): Promise<UploadResult> {
  const key = options.idempotencyKey;
  if (key !== undefined && !IDEMPOTENCY_KEY.test(key)) {
    throw new BadRequestError('Invalid Idempotency-Key. Use 1 to 255 visible ASCII characters, for example a UUID.');
  }
  if (!file) throw new BadRequestError("No file uploaded. Send the image in the multipart field 'file'.");
  if (file.content.length === 0) throw new BadRequestError('The uploaded file is empty.');
  if (file.content.length > deps.maxUploadBytes) throw new PayloadTooLargeError(deps.maxUploadBytes);
  const format = sniffImageFormat(file.content);
  if (!format) throw new UnsupportedTypeError();

  const id = randomUUID();
  const log = deps.logger.child({ imageId: id });
  const record = {
    id,
    originalName: sanitizeFileName(file.filename),
    originalKey: originalKey(id, format),
    contentType: CONTENT_TYPES[format],
    sizeBytes: file.content.length,
    createdAt: new Date().toISOString(),
  };
  const requestHash = key === undefined ? '' : hashRequest(record.originalName, file.content);

  if (key !== undefined) {
    const since = new Date(Date.now() - IDEMPOTENCY_KEY_HOURS * 3_600_000).toISOString();
    const earlier = await unavailable('Database', log, () => deps.images.findIdempotencyKey(key, since));
    if (earlier) return replay(deps, earlier, requestHash);
  }

  await unavailable('Storage', log, () => deps.storage.putOriginal(id, format, file.content, record.contentType));
  const removeOriginal = (): Promise<void> =>
    deps.storage.deleteOriginal(record.originalKey).catch((cleanup: unknown) => log.error({ err: cleanup }, 'upload: cleanup failed'));
  let stored: ImageRecord;
  try {
    if (key === undefined) {
      stored = await deps.lifecycle.accept(record);
    } else {
      const keyed = await deps.lifecycle.acceptWithKey(record, { key, requestHash });
      if ('existing' in keyed) {
        // A concurrent request with the same key got there first.
        await removeOriginal();
        return replay(deps, keyed.existing, requestHash);
      }
      stored = keyed.inserted;
    }
  } catch (error) {
    log.error({ err: error }, 'upload: recording the image failed; removing the original');
    await removeOriginal();
    throw new ServiceUnavailableError('Database is unavailable. Please try again.', { cause: error });
  }
  try {
    await deps.queue.send({ imageId: id, kind: 'process', generation: stored.generation });
  } catch (error) {
    log.error({ err: error }, 'upload: enqueueing failed; removing the row');
    // The row first: once it is gone nothing waits for the message, whatever happens to the original.
    await deps.lifecycle.discard(id).catch((cleanup: unknown) => log.error({ err: cleanup }, 'upload: rollback failed'));
    await removeOriginal();
    throw new ServiceUnavailableError('Queue is unavailable. Please try again.', { cause: error });
  }
  // The job is in the queue: a failure to record that only costs the sweeper one more send.
  await deps.lifecycle.confirmJobSent(id, stored.generation).catch((error: unknown) => log.warn({ err: error }, 'upload: send not confirmed'));
  log.info({ originalName: record.originalName, format, sizeBytes: record.sizeBytes }, 'image queued');
  return { record: stored, replayed: false };
}

function hashRequest(name: string, content: Buffer): string {
  return createHash('sha256').update(name).update('\0').update(content).digest('hex');
}

async function unavailable<T>(what: 'Database' | 'Storage', log: Logger, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    log.error({ err: error }, `upload: ${what.toLowerCase()} unavailable`);
    throw new ServiceUnavailableError(`${what} is unavailable. Please try again.`, { cause: error });
  }
}

/** The answer to a request whose Idempotency-Key an earlier request already used. */
async function replay(deps: UploadDeps, earlier: IdempotencyKeyRecord, requestHash: string): Promise<UploadResult> {
  if (earlier.requestHash !== requestHash) {
    throw new UnprocessableRequestError('This Idempotency-Key was already used for a different upload. Use a new key for a new file.');
  }
  // The first request may still be sending its job: wait for it to be
  // confirmed (or rolled back) rather than answer for an image that may vanish.
  const deadline = Date.now() + IN_FLIGHT_WAIT_MS;
  for (;;) {
    const image = await unavailable('Database', deps.logger, () => deps.images.find(earlier.imageId));
    if (!image) throw new ConflictError('An earlier request with this Idempotency-Key did not complete. Send it again.');
    if (image.jobSentAt !== null || image.status !== 'queued') {
      deps.logger.info({ imageId: image.id }, 'upload: same Idempotency-Key and body as an earlier request; its image answered');
      return { record: image, replayed: true };
    }
    if (Date.now() > deadline) throw new ConflictError('A request with this Idempotency-Key is still in progress. Try again in a moment.');
    await sleep(50);
  }
}
