// `imageprocessingapi upload`: every file as JPEG or PNG by its bytes (the
// rest skipped), a bounded number uploading at once, each with the SHA-256 of
// its bytes as the Idempotency-Key, so a second run of the same folder
// answers the images the first one made instead of making new ones (for the
// server's 24 hours; the same bytes twice in one run are uploaded once). A
// file over the API's own limit (413) goes by the direct upload instead.
// With `wait`, each image is followed to success or failed.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pLimit from 'p-limit';
import { CONTENT_TYPES, sniffImageFormat } from '../lib/images/sniff.ts';
import { ApiError } from './api-client.ts';
import type { ApiClient } from './api-client.ts';
import type { FoundFile } from './files.ts';

/**
 * What became of one file. `status`: the image's status when the run left it
 * (queued, processing, success, failed), or `skipped` (not a JPEG or PNG),
 * `duplicate` (the same bytes as another file), `error` (not uploaded).
 */
export interface FileResult {
  file: string;
  image_id: string | null;
  status: string;
  error: string | null;
  /** An earlier run had uploaded these bytes already. */
  replayed: boolean;
  sizeBytes: number;
}

export interface UploadReporter {
  start(total: number): void;
  /** Called once per file, when its result is final for this run. */
  done(result: FileResult): void;
  note(message: string): void;
  stop(): void;
}

export interface UploadOptions {
  concurrency: number;
  wait: boolean;
  /** How long --wait follows one image before leaving it as it is. */
  waitTimeoutMs: number;
  pollIntervalMs: number;
}

/** Ended well: uploaded (or already there, or the same bytes as another file), and with --wait, processed. */
export function endedWell(result: FileResult, waited: boolean): boolean {
  if (result.status === 'skipped' || result.status === 'duplicate') return true;
  if (result.status === 'error' || result.status === 'failed') return false;
  return !waited || result.status === 'success';
}

export function idempotencyKeyOf(bytes: Uint8Array): string {
  return `sha256-${createHash('sha256').update(bytes).digest('base64url')}`;
}

export async function runUpload(client: ApiClient, files: readonly FoundFile[], options: UploadOptions, reporter: UploadReporter): Promise<FileResult[]> {
  const uploads = pLimit(options.concurrency);
  // Polls are short GETs: a few more at once than uploads, and never more than the server should see from one client.
  const polls = pLimit(Math.max(4, options.concurrency));
  const firstWithKey = new Map<string, Promise<FileResult>>();
  reporter.start(files.length);

  const follow = async (result: FileResult): Promise<FileResult> => {
    if (!options.wait || result.image_id === null || result.status === 'success' || result.status === 'failed') return result;
    const deadline = Date.now() + options.waitTimeoutMs;
    for (;;) {
      const image = await polls(() => client.getImage(result.image_id ?? ''));
      if (image.status === 'success' || image.status === 'failed') return { ...result, status: image.status, error: image.error };
      if (Date.now() > deadline) return { ...result, status: image.status, error: `still ${image.status} after ${Math.round(options.waitTimeoutMs / 1000)} s` };
      await sleep(options.pollIntervalMs);
    }
  };

  const one = async (file: FoundFile): Promise<FileResult> => {
    const base: FileResult = { file: file.display, image_id: null, status: 'error', error: null, replayed: false, sizeBytes: file.sizeBytes };
    const uploaded = await uploads(async (): Promise<FileResult | { twin: Promise<FileResult> }> => {
      let bytes: Buffer;
      try {
        bytes = await readFile(file.absolute);
      } catch (error) {
        return { ...base, error: `cannot read: ${(error as Error).message}` };
      }
      const format = sniffImageFormat(bytes);
      if (format === null) return { ...base, status: 'skipped', error: 'not a JPEG or PNG' };
      const key = idempotencyKeyOf(bytes);
      const earlier = firstWithKey.get(key);
      // Awaited outside this slot, so a duplicate never holds one while its twin uploads.
      if (earlier) return { twin: earlier };
      const attempt = (async (): Promise<FileResult> => {
        const name = path.basename(file.absolute);
        try {
          const answer = await client.upload(name, bytes, key).catch(async (error: unknown) => {
            if (error instanceof ApiError && error.status === 413) return client.directUpload(name, bytes, CONTENT_TYPES[format]);
            throw error;
          });
          return { ...base, image_id: answer.image.image_id, status: answer.image.status, replayed: answer.replayed };
        } catch (error) {
          // 422: these bytes went up earlier under another file name; the server keeps that one.
          if (error instanceof ApiError && error.status === 422) return { ...base, status: 'duplicate', error: error.message };
          return { ...base, error: (error as Error).message };
        }
      })();
      firstWithKey.set(key, attempt);
      return attempt;
    });
    if ('twin' in uploaded) {
      const twin = await uploaded.twin;
      return { ...base, image_id: twin.image_id, status: 'duplicate', error: `same bytes as ${twin.file}` };
    }
    return follow(uploaded);
  };

  const results = await Promise.all(
    files.map(async (file) => {
      const result = await one(file);
      reporter.done(result);
      return result;
    }),
  );
  reporter.stop();
  return results;
}
