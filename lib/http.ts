// The HTTP side of every API Lambda: the specification's {status, data, error}
// envelope, and the one place where errors become status codes.
import middy from '@middy/core';
import { etag } from 'etag';
import fresh from 'fresh';
import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type { Access, RouteAccess } from './access.ts';
import { AppError, BadRequestError } from './errors.ts';
import { MULTIPART_REQUIRED, parseMultipartBody } from './multipart.ts';
import type { MultipartFields } from './multipart.ts';
import type { Logger } from './log.ts';

export type HttpEvent = APIGatewayProxyEventV2;
export type HttpResult = APIGatewayProxyStructuredResultV2;

export interface Envelope<T> {
  status: string;
  data: T | null;
  error: string | null;
}

// Browsers must take the Content-Type as given: an upload is never rendered as HTML or script.
const NOSNIFF = { 'x-content-type-options': 'nosniff' };
const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8', ...NOSNIFF };

export function jsonResponse<T>(data: T, options: { statusCode?: number; status?: string; headers?: Record<string, string> } = {}): HttpResult {
  const body: Envelope<T> = { status: options.status ?? 'success', data, error: null };
  const headers = options.headers ? { ...options.headers, ...JSON_HEADERS } : JSON_HEADERS;
  return { statusCode: options.statusCode ?? 200, headers, body: JSON.stringify(body) };
}

export function errorResponse(statusCode: number, message: string): HttpResult {
  const body: Envelope<never> = { status: 'error', data: null, error: message };
  return { statusCode, headers: JSON_HEADERS, body: JSON.stringify(body) };
}

/**
 * Bytes that never change under their URL (a thumbnail of an image id), with
 * their exact type, shown inline under a file name made of safe characters
 * only (nothing of a client's file name reaches the header). A strong ETag of
 * the bytes answers a matching If-None-Match with 304 and no body. Cached for
 * a year; `private` keeps shared caches from storing what needed a credential.
 */
export function immutableBinaryResponse(
  event: HttpEvent,
  body: Buffer,
  contentType: string,
  options: { fileName: string; cache: 'public' | 'private' },
): HttpResult {
  const fileName = options.fileName.replace(/[^A-Za-z0-9._-]/g, '_');
  const validators = { etag: etag(body), 'cache-control': `${options.cache}, max-age=31536000, immutable` };
  // If-None-Match alone, as RFC 9110 has an origin server evaluate it: a request's
  // Cache-Control: no-cache is for caches on the way (fetch() adds it to every
  // conditional request), and fresh() would answer such a request in full.
  if (fresh({ 'if-none-match': headerValue(event, 'if-none-match') }, validators)) {
    return { statusCode: 304, headers: { ...validators, ...NOSNIFF } };
  }
  return {
    statusCode: 200,
    headers: {
      'content-type': contentType,
      'content-length': String(body.length),
      'content-disposition': `inline; filename="${fileName}"`,
      ...validators,
      ...NOSNIFF,
    },
    body: body.toString('base64'),
    isBase64Encoded: true,
  };
}

/**
 * scheme://host[/stage] of the request, so the URLs we hand out are right on
 * localhost, behind API Gateway (named stages) and behind a custom domain.
 */
export function requestBaseUrl(event: HttpEvent, publicBaseUrl: string | undefined): string {
  if (publicBaseUrl) return publicBaseUrl;
  const headers = event.headers ?? {};
  const host = headers.host ?? event.requestContext?.domainName ?? 'localhost';
  const proto = headers['x-forwarded-proto']?.split(',')[0]?.trim() ?? 'http';
  const stage = event.requestContext?.stage;
  const stagePrefix = stage && stage !== '$default' && event.rawPath?.startsWith(`/${stage}/`) ? `/${stage}` : '';
  return `${proto}://${host}${stagePrefix}`;
}

function envelopeErrors(getLogger: () => Logger): MiddlewareObj<HttpEvent, HttpResult> {
  return {
    onError: (request) => {
      const error = request.error;
      if (error instanceof AppError) {
        request.response = errorResponse(error.statusCode, error.message);
        return;
      }
      getLogger().error({ err: request.error, path: request.event.rawPath }, 'unhandled error');
      request.response = errorResponse(500, 'Internal server error');
    },
  };
}

/** Every answer carries nosniff, whichever code built it. */
function securityHeaders(): MiddlewareObj<HttpEvent, HttpResult> {
  const add = (request: { response: HttpResult | undefined | null }): void => {
    if (request.response) request.response.headers = { ...request.response.headers, ...NOSNIFF };
  };
  return { after: add, onError: add };
}

/** lib/access.ts's check, before the body is parsed or anything else is done. */
function accessCheck(access: HttpHandlerOptions['access']): MiddlewareObj<HttpEvent, HttpResult> {
  return {
    before: async (request) => {
      // Nothing to check, and no database to open for it.
      if (access.route === 'public') return;
      await (await access.get()).check(request.event, access.route);
    },
  };
}

export interface HttpHandlerOptions {
  logger: () => Logger;
  /** Who may call the route: every HTTP function says, so none is left open by omission. */
  access: { route: RouteAccess; get: () => Promise<Access> };
  /** Parse a multipart/form-data body, refusing files over this many bytes. */
  multipart?: { maxFileBytes: number };
}

/** Wraps an API handler: the access check, then the body parser; the envelope error mapping and headers last. */
export function httpHandler(
  fn: (event: HttpEvent, context: Context) => Promise<HttpResult>,
  options: HttpHandlerOptions,
): middy.MiddyfiedHandler<HttpEvent, HttpResult> {
  const handler = middy<HttpEvent, HttpResult>().use(securityHeaders()).use(envelopeErrors(options.logger)).use(accessCheck(options.access));
  if (options.multipart) handler.use(multipartBody(options.multipart.maxFileBytes));
  return handler.handler(fn);
}

/** Replaces event.body with the parsed parts, which multipartFile reads. */
function multipartBody(maxFileBytes: number): MiddlewareObj<HttpEvent, HttpResult> {
  return {
    before: async (request) => {
      const { headers, body, isBase64Encoded } = request.event;
      const contentType = headers?.['content-type'] ?? headers?.['Content-Type'];
      // serverless-offline passes a request without a body as null, API Gateway as undefined.
      if (!contentType || !/^multipart\/form-data\s*;/i.test(contentType) || typeof body !== 'string') {
        throw new BadRequestError(MULTIPART_REQUIRED);
      }
      const bytes = Buffer.from(body, isBase64Encoded ? 'base64' : 'utf8');
      const fields = await parseMultipartBody(bytes, contentType, maxFileBytes);
      (request.event as unknown as { body: MultipartFields }).body = fields;
    },
  };
}

/** The request's JSON body. @throws BadRequestError when there is none or it is not JSON. */
export function jsonBody(event: HttpEvent): unknown {
  const { body, isBase64Encoded } = event;
  if (typeof body !== 'string' || body === '') throw new BadRequestError('Send a JSON body.');
  try {
    return JSON.parse(isBase64Encoded ? Buffer.from(body, 'base64').toString('utf8') : body) as unknown;
  } catch {
    throw new BadRequestError('The body is not valid JSON.');
  }
}

/** A request header, whatever the case the client or the gateway gave its name. */
export function headerValue(event: HttpEvent, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(event.headers ?? {})) {
    if (key.toLowerCase() === wanted) return value;
  }
  return undefined;
}

/** The first file sent in multipart field `name`, as parsed by the body-parser middleware. */
export function multipartFile(event: HttpEvent, name: string): { filename: string | undefined; content: Buffer } | undefined {
  const part = (event.body as unknown as MultipartFields | undefined)?.[name];
  if (!part || typeof part === 'string' || !Buffer.isBuffer(part.content)) return undefined;
  return { filename: part.filename, content: part.content };
}

