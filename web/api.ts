// The API as the page uses it: relative URLs (the page is served at the API's
// root, under a stage prefix too), the key from the browser's storage as a
// header, the envelope unwrapped into data or an Error with the API's message.

// Type-only: esbuild erases it, so the page's bundle takes nothing from lib/.
import type { Envelope } from '../lib/http.ts';
import type { ImageDetail, ImageSummary, StatsView as Stats } from '../lib/presenters.ts';

export type { ImageDetail, ImageSummary, Stats };

const KEY_STORAGE = 'imageprocessingapi.apiKey';

export class ApiError extends Error {
  /** The HTTP status; 0 when the API could not be reached. */
  readonly status: number;
  constructor(message: string, status: number) {
    super(message);
    this.status = status;
  }
}

export function storedKey(): string {
  try {
    return localStorage.getItem(KEY_STORAGE) ?? '';
  } catch {
    return '';
  }
}

export function storeKey(key: string): void {
  try {
    if (key === '') localStorage.removeItem(KEY_STORAGE);
    else localStorage.setItem(KEY_STORAGE, key);
  } catch {
    // Storage refused (private mode): the key lasts until the page is closed.
  }
  sessionKey = key;
}

let sessionKey = storedKey();

function authHeaders(): Record<string, string> {
  return sessionKey === '' ? {} : { authorization: `Bearer ${sessionKey}` };
}

function unwrap<T>(status: number, text: string): T {
  let body: Envelope<T> | undefined;
  try {
    body = JSON.parse(text) as Envelope<T>;
  } catch {
    throw new ApiError(`The server answered ${status} without the expected JSON.`, status);
  }
  if (status >= 400 || body.status === 'error' || body.data === null) throw new ApiError(body.error ?? `The server answered ${status}.`, status);
  return body.data;
}

async function request<T>(method: string, path: string, body?: unknown): Promise<{ data: T; headers: Headers }> {
  let res: Response;
  try {
    const json = body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } };
    res = await fetch(path, { method, ...json, headers: { accept: 'application/json', ...json.headers, ...authHeaders() } });
  } catch {
    throw new ApiError('The API cannot be reached. Check the connection.', 0);
  }
  return { data: unwrap<T>(res.status, await res.text()), headers: res.headers };
}

export interface ListFilter {
  status: string;
  q: string;
}

export async function listImages(filter: ListFilter, cursor: string | null, limit: number): Promise<{ items: ImageSummary[]; next: string | null }> {
  const params = new URLSearchParams({ limit: String(limit) });
  if (filter.status !== '') params.set('status', filter.status);
  if (filter.q.trim() !== '') params.set('q', filter.q.trim());
  if (cursor !== null) params.set('cursor', cursor);
  const { data, headers } = await request<ImageSummary[]>('GET', `api/images?${params}`);
  return { items: data, next: headers.get('x-next-cursor') };
}

export const getImage = async (id: string): Promise<ImageDetail> => (await request<ImageDetail>('GET', `api/images/${encodeURIComponent(id)}`)).data;
export const getStats = async (): Promise<Stats> => (await request<Stats>('GET', 'api/stats')).data;
export const deleteImage = async (id: string): Promise<void> => {
  await request<unknown>('DELETE', `api/images/${encodeURIComponent(id)}`);
};

/** A form POST with upload progress: XMLHttpRequest, since fetch() tells nothing of the bytes sent. */
function postForm(url: string, form: FormData, headers: Record<string, string>, onProgress: (fraction: number) => void): Promise<XMLHttpRequest> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', url);
    for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
    xhr.upload.addEventListener('progress', (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    });
    xhr.addEventListener('load', () => resolve(xhr));
    xhr.addEventListener('error', () => reject(new ApiError('The upload was cut off. Check the connection and try again.', 0)));
    xhr.send(form);
  });
}

/** POST /api/images with the file: the API decides by its bytes. */
export async function uploadImage(file: File, onProgress: (fraction: number) => void): Promise<ImageSummary> {
  const form = new FormData();
  form.append('file', file, file.name);
  const xhr = await postForm('api/images', form, authHeaders(), onProgress);
  return unwrap<ImageSummary>(xhr.status, xhr.responseText);
}

interface DirectUpload extends ImageSummary {
  upload: { url: string; fields: Record<string, string> };
}

/**
 * The direct upload: POST /api/uploads for a presigned form, then the file
 * straight to storage with it (no size limit of the API's functions). The
 * image is processed once the file lands.
 */
export async function directUpload(file: File, onProgress: (fraction: number) => void): Promise<ImageSummary> {
  const { data } = await request<DirectUpload>('POST', 'api/uploads', { filename: file.name, size_bytes: file.size, content_type: file.type });
  const form = new FormData();
  for (const [name, value] of Object.entries(data.upload.fields)) form.append(name, value);
  // Storage reads the fields first: the file goes last.
  form.append('file', file, file.name);
  const xhr = await postForm(data.upload.url, form, {}, onProgress);
  if (xhr.status < 200 || xhr.status >= 300) {
    // S3's errors are XML: its <Message> says why.
    const message = /<Message>([^<]*)<\/Message>/.exec(xhr.responseText)?.[1];
    throw new ApiError(message ? `Storage refused the file: ${message}` : `Storage answered ${xhr.status}.`, xhr.status);
  }
  const { upload: _form, ...image } = data;
  return image;
}
