// multipart/form-data bodies, parsed whole from memory (an API Gateway event
// carries the full body) with busboy, the parser most Node frameworks use.
import { Busboy } from '@fastify/busboy';
import type { BusboyInstance } from '@fastify/busboy';
import { BadRequestError, PayloadTooLargeError } from './errors.ts';

export const MULTIPART_REQUIRED = "Send the image as multipart/form-data in the field 'file'.";

export interface MultipartPart {
  filename?: string;
  content?: Buffer;
}

export type MultipartFields = Record<string, MultipartPart | string>;

/**
 * Parses a whole multipart/form-data body held in memory. The first part of
 * each name wins. Rejects with a BadRequestError when the body is malformed
 * and a PayloadTooLargeError when a file is over `maxFileBytes`.
 *
 * This replaces @middy/http-multipart-body-parser, which drives the same
 * busboy but left three hostile bodies unhandled: one cut before its closing
 * boundary makes busboy emit 'error' on the file stream, where nothing
 * listened (an uncaught exception that killed the whole serverless-offline
 * process, and the Lambda runtime on AWS); a part with no name crashed its
 * handler the same way; and a part whose headers never end left its promise
 * pending until the Lambda timed out.
 */
export function parseMultipartBody(body: Buffer, contentType: string, maxFileBytes: number): Promise<MultipartFields> {
  return new Promise((resolve, reject) => {
    const fields: MultipartFields = Object.create(null) as MultipartFields;
    // Claimed when a part starts, not when it ends: a file's end is emitted a
    // tick after the text field that follows it.
    const claimed = new Set<string>();
    const claim = (name: string | undefined): name is string => {
      if (!name || claimed.has(name)) return false;
      claimed.add(name);
      return true;
    };
    const malformed = (): void => reject(new BadRequestError(MULTIPART_REQUIRED));
    let parser: BusboyInstance;
    try {
      parser = Busboy({
        headers: { 'content-type': contentType },
        limits: { fileSize: maxFileBytes, files: 4, fields: 16, parts: 20, fieldSize: 64 * 1024 },
      });
    } catch {
      malformed();
      return;
    }
    parser.on('file', (name, stream, filename) => {
      const keep = claim(name);
      const chunks: Buffer[] = [];
      // Every file stream is read to its end, kept or not: busboy finishes only then.
      stream.on('data', (chunk: Buffer) => {
        if (keep) chunks.push(chunk);
      });
      stream.on('limit', () => reject(new PayloadTooLargeError(maxFileBytes)));
      stream.on('error', malformed);
      stream.on('end', () => {
        if (keep) fields[name] = { filename, content: Buffer.concat(chunks) };
      });
    });
    parser.on('field', (name, value) => {
      if (claim(name)) fields[name] = value;
    });
    parser.on('error', malformed);
    parser.on('finish', () => resolve(fields));
    try {
      parser.end(body);
    } catch {
      malformed();
    }
    // The whole body is in memory, so busboy has emitted everything it will once
    // the callbacks it queued have run: if it has not finished by then, a part's
    // headers never ended, and waiting longer would only reach the Lambda timeout.
    setImmediate(malformed);
  });
}
