// Accepting an upload: validate the bytes, store the original, record a queued
// row, enqueue the job. Each step that fails undoes the ones before it, so no
// row ever waits for a message that was never sent.
import { randomUUID } from 'node:crypto';
import type { ImagesRepository, ImageRecord } from './db/images-repository.ts';
import { BadRequestError, PayloadTooLargeError, ServiceUnavailableError, UnsupportedTypeError } from './errors.ts';
import { CONTENT_TYPES, sniffImageFormat } from './images/sniff.ts';
import type { Logger } from './log.ts';
import type { JobQueue } from './queue.ts';
import { originalKey } from './storage.ts';
import type { ImageStorage } from './storage.ts';

export interface UploadDeps {
  storage: ImageStorage;
  images: ImagesRepository;
  queue: JobQueue;
  logger: Logger;
  maxUploadBytes: number;
}

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

export async function uploadImage(deps: UploadDeps, file: UploadedFile | undefined): Promise<ImageRecord> {
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

  try {
    await deps.storage.putOriginal(id, format, file.content, record.contentType);
  } catch (error) {
    log.error({ err: error }, 'upload: storing the original failed');
    throw new ServiceUnavailableError('Storage is unavailable. Please try again.', { cause: error });
  }
  let stored: ImageRecord;
  try {
    stored = await deps.images.insertQueued(record);
  } catch (error) {
    log.error({ err: error }, 'upload: recording the image failed; removing the original');
    await deps.storage.deleteOriginal(record.originalKey).catch((cleanup: unknown) => log.error({ err: cleanup }, 'upload: cleanup failed'));
    throw new ServiceUnavailableError('Database is unavailable. Please try again.', { cause: error });
  }
  try {
    await deps.queue.send({ imageId: id, kind: 'process' });
  } catch (error) {
    log.error({ err: error }, 'upload: enqueueing failed; removing the row');
    await deps.images.delete(id).catch((cleanup: unknown) => log.error({ err: cleanup }, 'upload: rollback failed'));
    await deps.storage.deleteOriginal(record.originalKey).catch((cleanup: unknown) => log.error({ err: cleanup }, 'upload: cleanup failed'));
    throw new ServiceUnavailableError('Queue is unavailable. Please try again.', { cause: error });
  }
  log.info({ originalName: record.originalName, format, sizeBytes: record.sizeBytes }, 'image queued');
  return stored;
}
