// The HTTP side of every API Lambda: the specification's {status, data, error}
// envelope, and the one place where errors become status codes.
import middy from '@middy/core';
import type { MiddlewareObj } from '@middy/core';
import httpMultipartBodyParser from '@middy/http-multipart-body-parser';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { AppError, PayloadTooLargeError } from './errors.ts';
import type { Logger } from './log.ts';

export type HttpEvent = APIGatewayProxyEventV2;
export type HttpResult = APIGatewayProxyStructuredResultV2;

export interface Envelope<T> {
  status: string;
  data: T | null;
  error: string | null;
}

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8' };

export function jsonResponse<T>(data: T, options: { statusCode?: number; status?: string; headers?: Record<string, string> } = {}): HttpResult {
  const body: Envelope<T> = { status: options.status ?? 'success', data, error: null };
  const headers = options.headers ? { ...options.headers, ...JSON_HEADERS } : JSON_HEADERS;
  return { statusCode: options.statusCode ?? 200, headers, body: JSON.stringify(body) };
}

export function errorResponse(statusCode: number, message: string): HttpResult {
  const body: Envelope<never> = { status: 'error', data: null, error: message };
  return { statusCode, headers: JSON_HEADERS, body: JSON.stringify(body) };
}

export function binaryResponse(body: Buffer, contentType: string): HttpResult {
  return {
    statusCode: 200,
    headers: { 'content-type': contentType, 'content-length': String(body.length), 'cache-control': 'public, max-age=86400, immutable' },
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

/** Errors raised by middy's own middlewares carry an HTTP status of their own. */
interface MiddyHttpError extends Error {
  statusCode: number;
  expose?: boolean;
}

function isMiddyHttpError(error: unknown): error is MiddyHttpError {
  return error instanceof Error && typeof (error as Partial<MiddyHttpError>).statusCode === 'number';
}

export const MULTIPART_REQUIRED = "Send the image as multipart/form-data in the field 'file'.";

function toErrorResponse(error: unknown, maxUploadBytes: number): HttpResult | null {
  if (error instanceof AppError) return errorResponse(error.statusCode, error.message);
  if (isMiddyHttpError(error)) {
    if (error.statusCode === 413) return errorResponse(413, new PayloadTooLargeError(maxUploadBytes).message);
    // 415 (not multipart) and 422 (malformed multipart) from the body parser.
    if (error.statusCode === 415 || error.statusCode === 422) return errorResponse(400, MULTIPART_REQUIRED);
    if (error.statusCode < 500 && error.expose) return errorResponse(error.statusCode, error.message);
  }
  return null;
}

function envelopeErrors(getLogger: () => Logger, maxUploadBytes: () => number): MiddlewareObj<HttpEvent, HttpResult> {
  return {
    onError: (request) => {
      const mapped = toErrorResponse(request.error, maxUploadBytes());
      if (mapped) {
        request.response = mapped;
        return;
      }
      getLogger().error({ err: request.error, path: request.event.rawPath }, 'unhandled error');
      request.response = errorResponse(500, 'Internal server error');
    },
  };
}

export interface HttpHandlerOptions {
  logger: () => Logger;
  /** Parse a multipart/form-data body, refusing files over this many bytes. */
  multipart?: { maxFileBytes: number };
}

/** Wraps an API handler: the body parser first, the envelope error mapping last. */
export function httpHandler(
  fn: (event: HttpEvent, context: Context) => Promise<HttpResult>,
  options: HttpHandlerOptions,
): middy.MiddyfiedHandler<HttpEvent, HttpResult> {
  const maxFileBytes = options.multipart?.maxFileBytes ?? 0;
  const handler = middy<HttpEvent, HttpResult>().use(envelopeErrors(options.logger, () => maxFileBytes));
  if (options.multipart) {
    // The parser replaces event.body with the parsed parts; its own typing
    // describes that output, not the API Gateway event it receives.
    const parser = httpMultipartBodyParser({ busboy: { limits: { fileSize: maxFileBytes, files: 4 } } });
    handler.use(parser as unknown as MiddlewareObj<HttpEvent, HttpResult>);
  }
  return handler.handler(fn);
}

interface MultipartPart {
  filename?: string;
  content?: Buffer;
}

/** The first file sent in multipart field `name`, as parsed by the body-parser middleware. */
export function multipartFile(event: HttpEvent, name: string): { filename: string | undefined; content: Buffer } | undefined {
  const body = event.body as unknown as Record<string, MultipartPart | MultipartPart[] | string> | undefined;
  const value = body?.[name];
  const part = Array.isArray(value) ? value[value.length - 1] : value;
  if (!part || typeof part === 'string' || !Buffer.isBuffer(part.content)) return undefined;
  return { filename: part.filename, content: part.content };
}
