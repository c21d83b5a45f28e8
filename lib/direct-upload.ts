// Direct uploads: files too large for a Lambda request (6 MB, base64 on top)
// go from the client straight to S3. POST /api/uploads records a row
// `awaiting_upload` and answers a presigned POST for exactly one object
// (uploads/<id>, the declared size and type, until the URL expires). When the
// object lands, the bucket's notification reaches the processor through the
// job queue (lib/queue.ts reads it) and the row moves on by itself
// (lib/image-lifecycle.ts). The object is untrusted: not every store checks a
// POST policy (the local emulator checks none), so before anything decodes it
// the processor checks its size and its first bytes here, and a refused
// object is deleted.
import { randomUUID } from 'node:crypto';
import type { ImageRecord } from './db/images-repository.ts';
import { BadRequestError, PayloadTooLargeError, PermanentProcessingError, ServiceUnavailableError, UnsupportedTypeError } from './errors.ts';
import { sniffImageFormat } from './images/sniff.ts';
import type { ImageLifecycle } from './image-lifecycle.ts';
import type { Logger } from './log.ts';
import { uploadKey } from './storage.ts';
import type { ImageStorage } from './storage.ts';
import { sanitizeFileName } from './upload-image.ts';
import type { UploadSigner } from './upload-signer.ts';

export interface DirectUploadDeps {
  lifecycle: ImageLifecycle;
  signer: UploadSigner;
  logger: Logger;
  /** Largest size a client may declare. */
  maxBytes: number;
  /** How long the presigned POST is valid. */
  urlTtlSeconds: number;
}

export interface DirectUploadRequest {
  filename: string;
  sizeBytes: number;
  contentType: 'image/jpeg' | 'image/png';
}

/** What the client sends the file with: a multipart/form-data POST to `url` with every field, the file last in `file`. */
export interface UploadForm {
  method: 'POST';
  url: string;
  fields: Record<string, string>;
  expiresAt: string;
  maxBytes: number;
}

const BAD_BODY =
  'Send JSON: {"filename": "IMG_0042.jpg", "size_bytes": <the file\'s size in bytes>, "content_type": "image/jpeg" or "image/png"}.';
const ACCEPTED_TYPES = new Set(['image/jpeg', 'image/png']);

/**
 * The body of POST /api/uploads, checked in the order of the multipart route:
 * shape (400), then size (413), then type (415).
 */
export function parseDirectUploadRequest(body: unknown, maxBytes: number): DirectUploadRequest {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new BadRequestError(`Invalid request body. ${BAD_BODY}`);
  const { filename, size_bytes: sizeBytes, content_type: contentType } = body as Record<string, unknown>;
  if (typeof filename !== 'string' || filename.trim() === '' || filename.length > 4096) {
    throw new BadRequestError(`Invalid filename. ${BAD_BODY}`);
  }
  if (typeof sizeBytes !== 'number' || !Number.isSafeInteger(sizeBytes) || sizeBytes < 1) {
    throw new BadRequestError(`Invalid size_bytes: a whole number of bytes, at least 1. ${BAD_BODY}`);
  }
  if (typeof contentType !== 'string') throw new BadRequestError(`Invalid content_type. ${BAD_BODY}`);
  if (sizeBytes > maxBytes) throw new PayloadTooLargeError(maxBytes);
  const type = contentType.trim().toLowerCase();
  if (!ACCEPTED_TYPES.has(type)) throw new UnsupportedTypeError();
  return { filename, sizeBytes, contentType: type as DirectUploadRequest['contentType'] };
}

/**
 * Records the row and signs its upload. If the signing fails the row is
 * removed again, so no row waits for an upload nobody can make.
 */
export async function requestDirectUpload(deps: DirectUploadDeps, body: unknown): Promise<{ record: ImageRecord; upload: UploadForm }> {
  const request = parseDirectUploadRequest(body, deps.maxBytes);
  const id = randomUUID();
  const log = deps.logger.child({ imageId: id });
  const now = Date.now();
  const expiresAt = new Date(now + deps.urlTtlSeconds * 1000).toISOString();
  const key = uploadKey(id);
  let record: ImageRecord;
  try {
    record = await deps.lifecycle.createDirectUpload({
      id,
      originalName: sanitizeFileName(request.filename),
      originalKey: key,
      contentType: request.contentType,
      sizeBytes: request.sizeBytes,
      createdAt: new Date(now).toISOString(),
      uploadExpiresAt: expiresAt,
    });
  } catch (error) {
    log.error({ err: error }, 'direct upload: recording the image failed');
    throw new ServiceUnavailableError('Database is unavailable. Please try again.', { cause: error });
  }
  let signed: { url: string; fields: Record<string, string> };
  try {
    signed = await deps.signer.sign(key, { contentType: request.contentType, sizeBytes: request.sizeBytes, expiresInSeconds: deps.urlTtlSeconds });
  } catch (error) {
    log.error({ err: error }, 'direct upload: signing the upload failed; removing the row');
    await deps.lifecycle.discard(id).catch((cleanup: unknown) => log.error({ err: cleanup }, 'direct upload: rollback failed'));
    throw new ServiceUnavailableError('Storage is unavailable. Please try again.', { cause: error });
  }
  log.info({ originalName: record.originalName, sizeBytes: request.sizeBytes, contentType: request.contentType, expiresAt }, 'direct upload awaited');
  return { record, upload: { method: 'POST', url: signed.url, fields: signed.fields, expiresAt, maxBytes: request.sizeBytes } };
}

/** The uploaded object is not what was declared: the row fails for good and the object is gone. */
export class RejectedUploadError extends PermanentProcessingError {
  constructor(message: string) {
    super(message);
    this.name = 'RejectedUploadError';
  }
}

/**
 * The bytes of a direct upload, once they are known to be what the row
 * declared: first its size from a HEAD (nothing is downloaded when it is
 * wrong), then the downloaded length and the magic bytes. A refused object is
 * deleted before the error is thrown; if the delete fails, that error is
 * thrown instead (a passing fault: the delivery is retried and checks again).
 * @returns null when the object is not there.
 */
export async function readDirectUpload(storage: ImageStorage, record: ImageRecord, maxBytes: number | undefined): Promise<Buffer | null> {
  const refuse = async (reason: string): Promise<never> => {
    await storage.deleteOriginal(record.originalKey);
    throw new RejectedUploadError(reason);
  };
  const stat = await storage.statObject(record.originalKey);
  if (!stat) return null;
  const sizeProblem = (actual: number): string | null => {
    if (maxBytes !== undefined && actual > maxBytes) return new PayloadTooLargeError(maxBytes).message;
    if (actual === record.sizeBytes) return null;
    return `The uploaded file is ${actual} bytes, not the ${record.sizeBytes} bytes declared when the upload was requested. Request a new upload with the file's exact size.`;
  };
  const declared = sizeProblem(stat.sizeBytes);
  if (declared) return refuse(declared);
  const bytes = await storage.getOriginal(record.originalKey);
  if (!bytes) return null;
  // The object may have been replaced between the HEAD and the GET.
  const read = sizeProblem(bytes.length);
  if (read) return refuse(read);
  if (!sniffImageFormat(bytes)) return refuse(new UnsupportedTypeError().message);
  return bytes;
}
