// The API as the command-line client calls it: the envelope unwrapped, the
// key sent as a header, and the answers that mean "try again later" (429,
// 503, 502, 504, a 409 for a request still in progress, a refused or dropped
// connection) retried with exponential backoff and jitter (p-retry), waiting
// at least what a Retry-After header asks.
import { setTimeout as sleep } from 'node:timers/promises';
import pRetry, { AbortError } from 'p-retry';
import type { Envelope } from '../lib/http.ts';
import type { ImageDetail, ImageSummary, StatsView as Stats } from '../lib/presenters.ts';

export type { ImageDetail, ImageSummary, Stats };

/** An answer of the API that is an error: its status and the envelope's message. */
export class ApiError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
  }
}

const RETRIED_STATUSES = new Set([409, 429, 502, 503, 504]);

export interface RetryPolicy {
  retries: number;
  minTimeoutMs: number;
  maxTimeoutMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { retries: 6, minTimeoutMs: 500, maxTimeoutMs: 15_000 };

export interface ApiClientOptions {
  baseUrl: string;
  apiKey: string | undefined;
  retry?: RetryPolicy;
  /** Told of every retry, for the progress display. */
  onRetry?: (what: string, error: Error, delayMs: number) => void;
}

export interface UploadAnswer {
  image: ImageSummary;
  /** An earlier request with the same Idempotency-Key created the image. */
  replayed: boolean;
}

export interface ApiClient {
  upload(fileName: string, bytes: Uint8Array, idempotencyKey: string): Promise<UploadAnswer>;
  /** POST /api/uploads, then the file straight to storage with the form it answers. */
  directUpload(fileName: string, bytes: Uint8Array, contentType: string): Promise<UploadAnswer>;
  getImage(id: string): Promise<ImageDetail>;
  getStats(): Promise<Stats>;
  listImages(query: { status?: string; q?: string; limit: number; cursor?: string }): Promise<{ items: ImageSummary[]; next: string | null }>;
}

interface RetriableError extends Error {
  retryAfterMs?: number;
}

function retryAfterMs(header: string | null): number | undefined {
  if (header === null) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

export function createApiClient(options: ApiClientOptions): ApiClient {
  const base = options.baseUrl.replace(/\/+$/, '');
  const retry = options.retry ?? DEFAULT_RETRY;
  const auth: Record<string, string> = options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {};

  /** One request, retried while the API says to try again; the envelope's data, or an ApiError. */
  async function call<T>(what: string, send: () => Promise<Response>): Promise<{ data: T; res: Response }> {
    return pRetry(
      async () => {
        let res: Response;
        try {
          res = await send();
        } catch (error) {
          // fetch() rejects only when no answer came: refused, reset, DNS. Worth another try.
          const cause = (error as Error).cause;
          throw new Error(`${what}: ${cause instanceof Error ? cause.message : (error as Error).message}`);
        }
        const text = await res.text();
        let body: Envelope<T> | undefined;
        try {
          body = JSON.parse(text) as Envelope<T>;
        } catch {
          body = undefined;
        }
        if (res.ok && body?.data != null) return { data: body.data, res };
        const error: RetriableError = new ApiError(res.status, body?.error ?? `${what}: HTTP ${res.status}`);
        if (!RETRIED_STATUSES.has(res.status)) throw new AbortError(error);
        const after = retryAfterMs(res.headers.get('retry-after'));
        if (after !== undefined) error.retryAfterMs = after;
        throw error;
      },
      {
        retries: retry.retries,
        minTimeout: retry.minTimeoutMs,
        maxTimeout: retry.maxTimeoutMs,
        factor: 2,
        randomize: true,
        onFailedAttempt: async ({ error, retriesLeft, retryDelay }) => {
          if (retriesLeft === 0) return;
          const extra = Math.max(0, ((error as RetriableError).retryAfterMs ?? 0) - retryDelay);
          options.onRetry?.(what, error, retryDelay + extra);
          if (extra > 0) await sleep(extra);
        },
      },
    );
  }

  const json = (method: string, path: string, body?: unknown) => () =>
    fetch(`${base}${path}`, {
      method,
      headers: { accept: 'application/json', ...auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

  return {
    async upload(fileName, bytes, idempotencyKey) {
      const { data, res } = await call<ImageSummary>(`upload ${fileName}`, () => {
        const form = new FormData();
        form.append('file', new Blob([bytes]), fileName);
        return fetch(`${base}/api/images`, { method: 'POST', headers: { accept: 'application/json', 'idempotency-key': idempotencyKey, ...auth }, body: form });
      });
      return { image: data, replayed: res.headers.get('idempotent-replayed') === 'true' };
    },

    async directUpload(fileName, bytes, contentType) {
      type Form = ImageSummary & { upload: { url: string; fields: Record<string, string> } };
      const { data } = await call<Form>(`upload ${fileName}`, json('POST', '/api/uploads', { filename: fileName, size_bytes: bytes.length, content_type: contentType }));
      await pRetry(
        async () => {
          const form = new FormData();
          for (const [name, value] of Object.entries(data.upload.fields)) form.append(name, value);
          form.append('file', new Blob([bytes], { type: contentType }), fileName);
          const res = await fetch(data.upload.url, { method: 'POST', body: form });
          if (res.ok) return;
          // Storage answers S3's XML: its <Message> says why.
          const message = /<Message>([^<]*)<\/Message>/.exec(await res.text())?.[1] ?? `HTTP ${res.status}`;
          const error = new ApiError(res.status, `storage refused ${fileName}: ${message}`);
          if (!RETRIED_STATUSES.has(res.status)) throw new AbortError(error);
          throw error;
        },
        { retries: retry.retries, minTimeout: retry.minTimeoutMs, maxTimeout: retry.maxTimeoutMs, randomize: true },
      );
      const { upload: _form, ...image } = data;
      return { image, replayed: false };
    },

    async getImage(id) {
      return (await call<ImageDetail>(`image ${id}`, json('GET', `/api/images/${encodeURIComponent(id)}`))).data;
    },

    async getStats() {
      return (await call<Stats>('stats', json('GET', '/api/stats'))).data;
    },

    async listImages(query) {
      const params = new URLSearchParams({ limit: String(query.limit) });
      if (query.status) params.set('status', query.status);
      if (query.q) params.set('q', query.q);
      if (query.cursor) params.set('cursor', query.cursor);
      const { data, res } = await call<ImageSummary[]>('list', json('GET', `/api/images?${params}`));
      return { items: data, next: res.headers.get('x-next-cursor') };
    },
  };
}
