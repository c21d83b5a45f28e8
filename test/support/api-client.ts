// The HTTP calls the end-to-end tests make again and again: a JSON GET, the
// upload of one photo, and polling GET /api/images/{id}. Plain fetch unless a
// test passes its own, e.g. the OpenAPI-checking one of openapi-responses.ts.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Envelope, ImageDetail } from './api-types.ts';

export type FetchJson = <T>(url: string, init?: RequestInit) => Promise<{ res: Response; status: number; body: T }>;

export const plainFetchJson: FetchJson = async <T>(url: string, init?: RequestInit) => {
  const res = await fetch(url, init);
  return { res, status: res.status, body: (await res.json()) as T };
};

export async function getJson<T>(url: string, fetchJson: FetchJson = plainFetchJson): Promise<{ status: number; body: Envelope<T> }> {
  const { status, body } = await fetchJson<Envelope<T>>(url);
  return { status, body };
}

export interface UploadOptions {
  /** The file part's content type; none when omitted. */
  type?: string;
  headers?: Record<string, string>;
  fetchJson?: FetchJson;
}

/** A multipart form holding one file under the field name `file`. */
export function photoForm(name: string, bytes: Uint8Array, type?: string): FormData {
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(bytes)], type === undefined ? {} : { type }), name);
  return form;
}

/** POST /api/images with one file; the answer as it came, nothing asserted. */
export async function uploadPhoto(apiUrl: string, name: string, bytes: Uint8Array, options: UploadOptions = {}): Promise<{ res: Response; status: number; body: Envelope<ImageDetail> }> {
  const fetchJson = options.fetchJson ?? plainFetchJson;
  const body = photoForm(name, bytes, options.type);
  return fetchJson<Envelope<ImageDetail>>(`${apiUrl}/api/images`, { method: 'POST', body, headers: options.headers ?? {} });
}

export async function getImage(apiUrl: string, id: string, fetchJson: FetchJson = plainFetchJson): Promise<ImageDetail> {
  return (await getJson<ImageDetail>(`${apiUrl}/api/images/${id}`, fetchJson)).body.data;
}

export const isFinal = (image: ImageDetail): boolean => image.status === 'success' || image.status === 'failed';

export interface PollOptions {
  timeoutMs: number;
  intervalMs: number;
  fetchJson?: FetchJson;
}

/** Polls the images until `done` holds for every one of them; their last details, in the order of `ids`. */
export async function waitForImages(apiUrl: string, ids: string[], done: (image: ImageDetail) => boolean, options: PollOptions): Promise<ImageDetail[]> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const details = await Promise.all(ids.map((id) => getImage(apiUrl, id, options.fetchJson)));
    if (details.every(done)) return details;
    assert.ok(Date.now() < deadline, `not reached in ${options.timeoutMs} ms: ${JSON.stringify(details.map((d) => [d.image_id, d.status, d.error]))}`);
    await sleep(options.intervalMs);
  }
}

/** Polls one image until it ends `success` or `failed`. */
export async function waitForFinal(apiUrl: string, id: string, options: PollOptions): Promise<ImageDetail> {
  const [image] = await waitForImages(apiUrl, [id], isFinal, options);
  assert.ok(image);
  return image;
}
