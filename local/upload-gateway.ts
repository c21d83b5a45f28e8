// The local stand-in for what S3 does on AWS for a direct upload and the
// embedded emulator (fauxqs) does not: it answers a browser's CORS preflight
// for the presigned POST, it takes a body of any size a POST may have (the
// emulator refuses a request body over 11 MiB), and, once the object is
// stored, it sends the bucket's event notification into the job queue, the
// very message S3 sends on AWS (eventName ObjectCreated:Post), so the same
// processor code reads it. Presigned POST URLs point here locally
// (S3_UPLOAD_ENDPOINT); on AWS they point at S3.
//
// The form is read as a stream (busboy) and the file stored through the S3
// API (@aws-sdk/lib-storage: one PutObject, or a multipart upload in parts the
// emulator accepts). Like the emulator, it does not check the POST policy
// (size range, type, expiry, signature): the pipeline checks every direct
// upload itself before decoding it (lib/direct-upload.ts), as it must with any
// store that does not, and the local stack and its tests go through that check.
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Transform } from 'node:stream';
import { S3Client } from '@aws-sdk/client-s3';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { Upload } from '@aws-sdk/lib-storage';
import { Busboy } from '@fastify/busboy';
import type { BusboyInstance } from '@fastify/busboy';
import type { S3Event, S3EventRecord } from 'aws-lambda';
import { UPLOAD_PREFIX } from '../lib/storage.ts';

/** S3's own limit for a POST upload. */
const MAX_POST_BYTES = 5 * 1024 ** 3;
/** Under the emulator's 11 MiB request limit, over S3's 5 MiB minimum part. */
const PART_BYTES = 8 * 1024 * 1024;
const CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };

export interface UploadGatewayOptions {
  port: number;
  emulatorUrl: string;
  region: string;
  bucket: string;
  queueUrl: string;
  /** Origins a browser may POST from; `*` for any (CORS_ALLOWED_ORIGINS, as the API's). */
  allowedOrigins: string[];
  onError?: (error: unknown) => void;
}

export interface UploadGateway {
  /** http://localhost:<port>, what S3_UPLOAD_ENDPOINT is set to. */
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** An S3 error answer: status, code and message as S3 gives them. */
class S3Failure extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** CORS_ALLOWED_ORIGINS as a list; any origin when unset, as for the local API. */
export function allowedOrigins(raw: string | undefined): string[] {
  const origins = (raw ?? '')
    .split(',')
    .map((origin) => origin.trim())
    .filter((origin) => origin !== '');
  return origins.length > 0 ? origins : ['*'];
}

export async function startUploadGateway(options: UploadGatewayOptions): Promise<UploadGateway> {
  const s3 = new S3Client({ region: options.region, endpoint: options.emulatorUrl, forcePathStyle: true, credentials: CREDENTIALS });
  const sqs = new SQSClient({ region: options.region, endpoint: options.emulatorUrl, credentials: CREDENTIALS });
  let sequence = 0;

  const corsOrigin = (req: IncomingMessage): string | null => {
    const origin = req.headers.origin;
    if (origin === undefined) return null;
    if (options.allowedOrigins.includes('*')) return '*';
    return options.allowedOrigins.includes(origin) ? origin : null;
  };

  const preflight = (req: IncomingMessage, res: ServerResponse): void => {
    const origin = corsOrigin(req);
    const method = req.headers['access-control-request-method'];
    if (origin === null || method !== 'POST') {
      throw new S3Failure(403, 'AccessForbidden', 'CORSResponse: This CORS request is not allowed.');
    }
    res.writeHead(200, {
      'access-control-allow-origin': origin,
      'access-control-allow-methods': 'POST',
      'access-control-allow-headers': req.headers['access-control-request-headers'] ?? '',
      'access-control-max-age': '3600',
      vary: 'Origin, Access-Control-Request-Headers, Access-Control-Request-Method',
    });
    res.end();
  };

  const notify = async (req: IncomingMessage, key: string, size: number, etag: string): Promise<void> => {
    const record: S3EventRecord = {
      eventVersion: '2.1',
      eventSource: 'aws:s3',
      awsRegion: options.region,
      eventTime: new Date().toISOString(),
      eventName: 'ObjectCreated:Post',
      userIdentity: { principalId: 'local' },
      requestParameters: { sourceIPAddress: req.socket.remoteAddress ?? '127.0.0.1' },
      responseElements: { 'x-amz-request-id': randomUUID(), 'x-amz-id-2': randomBytes(16).toString('base64') },
      s3: {
        s3SchemaVersion: '1.0',
        configurationId: 'direct-uploads',
        bucket: { name: options.bucket, ownerIdentity: { principalId: 'local' }, arn: `arn:aws:s3:::${options.bucket}` },
        // S3 sends keys URL-encoded, spaces as "+".
        object: { key: encodeEventKey(key), size, eTag: etag.replaceAll('"', ''), sequencer: (Date.now() * 1000 + (sequence++ % 1000)).toString(16).toUpperCase() },
      },
    };
    const event: S3Event = { Records: [record] };
    await sqs.send(new SendMessageCommand({ QueueUrl: options.queueUrl, MessageBody: JSON.stringify(event) }));
  };

  const post = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const { fields, stored } = await storeForm(req, s3, options.bucket);
    if (stored.key.startsWith(UPLOAD_PREFIX)) {
      // As on S3, the notification is not the uploader's concern: a failure is logged, the upload stands.
      await notify(req, stored.key, stored.size, stored.etag).catch((error: unknown) => options.onError?.(error));
    }
    const origin = corsOrigin(req);
    const location = `${gateway.url}/${options.bucket}/${stored.key.split('/').map(encodeURIComponent).join('/')}`;
    const headers: Record<string, string> = { etag: stored.etag, location };
    if (origin !== null) {
      headers['access-control-allow-origin'] = origin;
      headers['access-control-expose-headers'] = 'ETag, Location';
      headers.vary = 'Origin';
    }
    // success_action_status as S3 reads it: 200 or 201 when asked for, 204 otherwise.
    const status = ['200', '201'].includes(fields.success_action_status ?? '') ? Number(fields.success_action_status) : 204;
    if (status === 201) {
      res.writeHead(201, { ...headers, 'content-type': 'application/xml' });
      res.end(
        `<?xml version="1.0" encoding="UTF-8"?>\n<PostResponse><Location>${xml(location)}</Location><Bucket>${xml(options.bucket)}</Bucket>` +
          `<Key>${xml(stored.key)}</Key><ETag>${xml(stored.etag)}</ETag></PostResponse>`,
      );
      return;
    }
    res.writeHead(status, headers);
    res.end();
  };

  const server = createServer({ requestTimeout: 30 * 60_000 }, (req, res) => {
    const path = new URL(req.url ?? '/', 'http://gateway').pathname.replace(/\/+$/, '');
    const handle = async (): Promise<void> => {
      if (req.method === 'OPTIONS') return preflight(req, res);
      if (req.method !== 'POST') throw new S3Failure(405, 'MethodNotAllowed', 'The specified method is not allowed against this resource.');
      if (path !== `/${options.bucket}`) throw new S3Failure(404, 'NoSuchBucket', 'The specified bucket does not exist.');
      await post(req, res);
    };
    handle().catch((error: unknown) => {
      if (!(error instanceof S3Failure)) options.onError?.(error);
      const failure = error instanceof S3Failure ? error : new S3Failure(500, 'InternalError', 'We encountered an internal error. Please try again.');
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const origin = corsOrigin(req);
      res.writeHead(failure.status, {
        'content-type': 'application/xml',
        ...(origin === null ? {} : { 'access-control-allow-origin': origin, vary: 'Origin' }),
        // The request body may not have been read to its end: do not reuse the connection.
        connection: 'close',
      });
      res.end(`<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${failure.code}</Code><Message>${xml(failure.message)}</Message></Error>`);
    });
  });

  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => resolveListen());
  });
  const port = (server.address() as AddressInfo).port;
  const gateway: UploadGateway = {
    url: `http://localhost:${port}`,
    port,
    async stop() {
      await new Promise<void>((resolveClose) => {
        server.close(() => resolveClose());
        server.closeAllConnections();
      });
      s3.destroy();
      sqs.destroy();
    },
  };
  return gateway;
}

interface StoredObject {
  key: string;
  size: number;
  etag: string;
}

/**
 * Reads a POST Object form as S3 does: text fields first, then the file in
 * the field `file` (fields after it are ignored); `key` names the object and
 * `Content-Type` its type. The file is stored while it arrives.
 */
function storeForm(req: IncomingMessage, s3: S3Client, bucket: string): Promise<{ fields: Record<string, string>; stored: StoredObject }> {
  return new Promise((resolveForm, reject) => {
    const contentType = req.headers['content-type'] ?? '';
    if (!/^multipart\/form-data\s*;/i.test(contentType)) {
      reject(new S3Failure(412, 'PreconditionFailed', 'Bucket POST must be of the enclosure-type multipart/form-data.'));
      req.resume();
      return;
    }
    const fields: Record<string, string> = Object.create(null) as Record<string, string>;
    let upload: Promise<StoredObject> | undefined;
    let body: Transform | undefined;
    const fail = (error: unknown): void => {
      body?.destroy(error instanceof Error ? error : new Error(String(error)));
      req.unpipe();
      req.resume();
      reject(error);
    };
    let parser: BusboyInstance;
    try {
      parser = Busboy({ headers: { 'content-type': contentType }, limits: { fileSize: MAX_POST_BYTES, files: 1, fields: 64, fieldSize: 64 * 1024 } });
    } catch {
      fail(new S3Failure(400, 'MalformedPOSTRequest', 'The body of your POST request is not well-formed multipart/form-data.'));
      return;
    }
    parser.on('field', (name, value) => {
      if (upload === undefined && !(name in fields)) fields[name] = value;
    });
    parser.on('file', (name, stream, filename) => {
      if (name !== 'file' || upload !== undefined) {
        stream.resume();
        return;
      }
      const key = (fields.key ?? '').replaceAll('${filename}', filename ?? '');
      if (key === '') {
        stream.resume();
        fail(new S3Failure(400, 'InvalidArgument', "Bucket POST must contain a field named 'key'.  If it is specified, please check the order of the fields."));
        return;
      }
      let size = 0;
      body = new Transform({
        transform(chunk: Buffer, _encoding, done) {
          size += chunk.length;
          done(null, chunk);
        },
      });
      stream.on('limit', () => fail(new S3Failure(400, 'EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size.')));
      stream.on('error', fail);
      stream.pipe(body);
      const uploader = new Upload({
        client: s3,
        params: { Bucket: bucket, Key: key, Body: body, ContentType: fields['Content-Type'] ?? 'binary/octet-stream' },
        partSize: PART_BYTES,
        queueSize: 2,
      });
      upload = uploader.done().then((result) => ({ key, size, etag: result.ETag ?? '' }));
      // Awaited once the form is read; until then a failure must not go unhandled.
      upload.catch(() => undefined);
    });
    parser.on('error', () => fail(new S3Failure(400, 'MalformedPOSTRequest', 'The body of your POST request is not well-formed multipart/form-data.')));
    parser.on('finish', () => {
      if (upload === undefined) {
        fail(new S3Failure(400, 'InvalidArgument', 'POST requires exactly one file upload per request.'));
        return;
      }
      upload.then((stored) => resolveForm({ fields, stored }), reject);
    });
    req.on('close', () => {
      if (!req.complete) fail(new S3Failure(400, 'IncompleteBody', 'The request body terminated unexpectedly'));
    });
    req.pipe(parser);
  });
}

/** A key as S3 writes it into an event: URL-encoded, "/" kept, spaces as "+". */
function encodeEventKey(key: string): string {
  return key
    .split('/')
    .map((segment) => encodeURIComponent(segment).replace(/%20/g, '+'))
    .join('/');
}

function xml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}
