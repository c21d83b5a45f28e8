// What the API and the pipeline can say went wrong. The HTTP middleware maps
// `statusCode` + `message` straight into the envelope; anything that is not an
// AppError becomes a 500 with a generic message so internals never leak.

export abstract class AppError extends Error {
  abstract readonly statusCode: number;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class BadRequestError extends AppError {
  readonly statusCode = 400;
}

export class ImageNotFoundError extends AppError {
  readonly statusCode = 404;
  constructor() {
    super('Image not found');
  }
}

export class ThumbnailNotReadyError extends AppError {
  readonly statusCode = 404;
  constructor() {
    super('Thumbnail not ready or missing');
  }
}

export class RouteNotFoundError extends AppError {
  readonly statusCode = 404;
  constructor() {
    super('Route not found');
  }
}

/** The request clashes with the resource's current state (a row being processed, a request still running). */
export class ConflictError extends AppError {
  readonly statusCode = 409;
}

/** Well-formed, but it cannot be honoured as sent (an Idempotency-Key reused for another body). */
export class UnprocessableRequestError extends AppError {
  readonly statusCode = 422;
}

/** No credential, or one that is unknown, revoked, expired or for another resource. */
export class UnauthorizedError extends AppError {
  readonly statusCode = 401;
}

export class PayloadTooLargeError extends AppError {
  readonly statusCode = 413;
  constructor(limitBytes: number) {
    super(`File too large. The limit is ${formatBytes(limitBytes)}.`);
  }
}

export class UnsupportedTypeError extends AppError {
  readonly statusCode = 415;
  constructor() {
    super('Unsupported file type. Use JPG or PNG.');
  }
}

export class ServiceUnavailableError extends AppError {
  readonly statusCode = 503;
}

/**
 * The image itself cannot be processed (not decodable, truncated, over the
 * pixel limit, original gone). Retrying will not help: the row is marked
 * `failed` with this message and the queue message is acknowledged.
 */
export class PermanentProcessingError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'PermanentProcessingError';
  }
}

/** A required setting is missing or malformed; raised once at cold start. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

function formatBytes(bytes: number): string {
  const mib = bytes / (1024 * 1024);
  return Number.isInteger(mib) ? `${mib} MB` : `${bytes} bytes`;
}
