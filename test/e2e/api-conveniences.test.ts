// The API around the workflow, through the real stack: the OpenAPI document
// it serves (and every answer here checked against it), thumbnails with a
// strong ETag and 304, the status filter and full-text search with the
// cursor, DELETE of an image, and the gallery's page and files.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Validator } from '@seriousme/openapi-schema-validator';
import { stageNames } from '../../local/resources.ts';
import { uploadPhoto, waitForFinal as waitForFinalWith } from '../support/api-client.ts';
import type { FetchJson } from '../support/api-client.ts';
import type { Envelope, ImageDetail } from '../support/api-types.ts';
import { jpegWithCorruptScan } from '../support/corrupt-jpeg.ts';
import { startFakeCaptionServer } from '../support/fake-caption-server.ts';
import type { FakeCaptionServer } from '../support/fake-caption-server.ts';
import { createResponseValidator } from '../support/openapi-responses.ts';
import type { ResponseValidator } from '../support/openapi-responses.ts';
import { readSample } from '../support/sample-images.ts';
import { startStack } from '../support/stack.ts';
import type { RunningStack } from '../support/stack.ts';

const CAPTION = 'a photo taken with a camera';
const PHOTOS = { canon: 'cameras/Canon_40D.jpg', nikon: 'gps/DSCN0010.jpg', jolla: 'mobile/jolla.jpg' } as const;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('API conveniences over the local stack', { timeout: 600_000 }, () => {
  const workDir = mkdtempSync(join(tmpdir(), 'imageprocessingapi-conveniences-'));
  let stack: RunningStack;
  let captions: FakeCaptionServer;
  let api: ResponseValidator;
  let s3: S3Client;
  const ids: Record<string, string> = {};

  const url = (path: string): string => `${stack.apiUrl}${path}`;

  const checked: FetchJson = (target, init) => api.fetch(target, init);

  async function upload(name: string, bytes: Buffer): Promise<string> {
    const { status, body } = await uploadPhoto(stack.apiUrl, name, bytes, { fetchJson: checked });
    assert.equal(status, 202, JSON.stringify(body));
    return body.data.image_id;
  }

  const waitForFinal = (id: string): Promise<ImageDetail> => waitForFinalWith(stack.apiUrl, id, { timeoutMs: 60_000, intervalMs: 100, fetchJson: checked });

  /** Every id of a listing, page after page through the Link header. */
  async function walk(path: string): Promise<{ ids: string[]; pages: number }> {
    const found: string[] = [];
    let next: string | null = url(path);
    let pages = 0;
    while (next !== null) {
      const page: { res: Response; status: number; body: Envelope<Array<{ image_id: string }>> } = await api.fetch(next);
      const { res, status, body } = page;
      assert.equal(status, 200, JSON.stringify(body));
      found.push(...body.data.map((item) => item.image_id));
      next = /<([^>]+)>; rel="next"/.exec(res.headers.get('link') ?? '')?.[1] ?? null;
      assert.ok(++pages < 50);
    }
    return { ids: found, pages };
  }

  before(async () => {
    captions = await startFakeCaptionServer({ text: CAPTION });
    stack = await startStack({ dataDir: join(workDir, 'data'), env: { CAPTION_ENDPOINT_URL: captions.url, CAPTION_TIMEOUT_MS: '2000' } });
    const res = await fetch(url('/api/openapi.json'));
    api = createResponseValidator((await res.json()) as Record<string, unknown>);
    s3 = new S3Client({ region: 'us-east-1', endpoint: stack.emulatorUrl, forcePathStyle: true, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    for (const [name, path] of Object.entries(PHOTOS)) ids[name] = await upload(path.split('/').pop() ?? name, await readSample(path));
    ids.corrupt = await upload('broken.jpg', jpegWithCorruptScan(await readSample(PHOTOS.canon)));
    for (const id of Object.values(ids)) await waitForFinal(id);
  });

  after(async () => {
    if (process.env.E2E_DEBUG) console.log(stack?.output());
    await stack?.stop();
    await captions?.close();
    s3?.destroy();
    rmSync(workDir, { recursive: true, force: true });
  });

  test('GET /api/openapi.json: a valid OpenAPI 3.1 document of this stack, open, not in the envelope', async () => {
    const res = await fetch(url('/api/openapi.json'));
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    const document = (await res.json()) as { openapi: string; servers: Array<{ url: string }>; paths: Record<string, unknown> };
    const validator = new Validator();
    const result = await validator.validate(document);
    assert.equal(result.valid, true, JSON.stringify(result.errors));
    assert.equal(document.openapi, '3.1.0');
    assert.deepEqual(document.servers, [{ url: stack.apiUrl }]);
  });

  test('thumbnails: strong ETag, cached for a year, 304 for a matching If-None-Match (strong or weak), 200 for another', async () => {
    const thumbnail = url(`/api/images/${ids.canon}/thumbnails/small`);
    const first = await api.fetch<Buffer>(thumbnail);
    assert.equal(first.status, 200);
    const etag = first.res.headers.get('etag') ?? '';
    assert.match(etag, /^"[^"]+"$/, 'a strong ETag');
    assert.equal(first.res.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assert.ok(first.body.length > 0);

    for (const ifNoneMatch of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
      const again = await api.fetch(thumbnail, { headers: { 'if-none-match': ifNoneMatch } });
      assert.equal(again.status, 304, ifNoneMatch);
      assert.equal(again.body, null, 'no body');
      assert.equal(again.res.headers.get('etag'), etag);
      assert.equal(again.res.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    }
    const changed = await api.fetch<Buffer>(thumbnail, { headers: { 'if-none-match': '"something-else"' } });
    assert.equal(changed.status, 200);
    assert.deepEqual(changed.body, first.body);
    // The 640 x 480 photo's thumbnails differ (the Canon's 100 px photo is never upscaled: both are the same bytes).
    const nikonSmall = await api.fetch(url(`/api/images/${ids.nikon}/thumbnails/small`), { headers: { 'if-none-match': etag } });
    assert.equal(nikonSmall.status, 200, "another image's ETag does not match");
    const nikonMedium = await api.fetch(url(`/api/images/${ids.nikon}/thumbnails/medium`));
    assert.notEqual(nikonMedium.res.headers.get('etag'), nikonSmall.res.headers.get('etag'), 'other bytes, another ETag');
  });

  test('GET /api/images?status=: only that status; an unknown status 400', async () => {
    assert.deepEqual((await walk('/api/images?status=failed')).ids, [ids.corrupt]);
    const success = (await walk('/api/images?status=success')).ids;
    assert.deepEqual([...success].sort(), [ids.canon, ids.nikon, ids.jolla].sort());
    assert.deepEqual((await walk('/api/images?status=queued')).ids, []);
    const bad = await api.fetch<Envelope<null>>(url('/api/images?status=done'));
    assert.equal(bad.status, 400);
    assert.match(bad.body.error ?? '', /Invalid status/);
  });

  test('GET /api/images?q=: caption, file name and camera make/model, every word; pages keep the search', async () => {
    assert.deepEqual((await walk('/api/images?q=canon')).ids, [ids.canon]);
    assert.deepEqual((await walk('/api/images?q=NIKON%20coolpix')).ids, [ids.nikon]);
    assert.deepEqual((await walk('/api/images?q=jolla')).ids, [ids.jolla]);
    assert.deepEqual((await walk('/api/images?q=broken')).ids, [ids.corrupt]);
    const byCaption = await walk('/api/images?q=camera%20photo&limit=1');
    assert.deepEqual([...byCaption.ids].sort(), [ids.canon, ids.nikon, ids.jolla].sort(), 'every captioned image, once');
    assert.equal(byCaption.pages, 3, 'one per page: the Link header kept q');
    assert.deepEqual((await walk('/api/images?q=canon&status=failed')).ids, []);
    assert.deepEqual((await walk('/api/images?q=zebra')).ids, []);
    const bad = await api.fetch<Envelope<null>>(url(`/api/images?q=${'x'.repeat(201)}`));
    assert.equal(bad.status, 400);
  });

  test('DELETE /api/images/{id}: original, thumbnails and row gone; stats and search follow; again 404; unknown 404', async () => {
    const before = (await api.fetch<Envelope<{ total: number; success: number; failed: number }>>(url('/api/stats'))).body.data;
    const detail = await waitForFinal(ids.jolla ?? '');
    const { status, body } = await api.fetch<Envelope<{ image_id: string; status: string }>>(url(`/api/images/${ids.jolla}`), { method: 'DELETE' });
    assert.equal(status, 200, JSON.stringify(body));
    assert.deepEqual(body, { status: 'success', data: { image_id: ids.jolla, original_name: 'jolla.jpg', status: 'deleted' }, error: null });

    assert.equal((await api.fetch(url(`/api/images/${ids.jolla}`))).status, 404);
    assert.equal((await api.fetch(detail.thumbnails.small)).status, 404);
    const bucket = stageNames('local').bucket;
    for (const key of [`originals/${ids.jolla}.jpg`, `thumbnails/${ids.jolla}/small.jpg`, `thumbnails/${ids.jolla}/medium.jpg`]) {
      await assert.rejects(s3.send(new GetObjectCommand({ Bucket: bucket, Key: key })), (error: Error) => error.name === 'NoSuchKey', key);
    }
    const after = (await api.fetch<Envelope<{ total: number; success: number; failed: number }>>(url('/api/stats'))).body.data;
    assert.deepEqual({ total: after.total, success: after.success, failed: after.failed }, { total: before.total - 1, success: before.success - 1, failed: before.failed });
    assert.deepEqual((await walk('/api/images?q=jolla')).ids, []);
    assert.ok(!(await walk('/api/images')).ids.includes(ids.jolla ?? ''));

    const again = await api.fetch<Envelope<null>>(url(`/api/images/${ids.jolla}`), { method: 'DELETE' });
    assert.equal(again.status, 404);
    assert.deepEqual(again.body, { status: 'error', data: null, error: 'Image not found' });
    assert.equal((await api.fetch(url('/api/images/00000000-0000-4000-8000-000000000000'), { method: 'DELETE' })).status, 404);
    assert.equal((await api.fetch(url('/api/images/not-an-id'), { method: 'DELETE' })).status, 404);

    // A failed image goes too, and the failed count with it.
    assert.equal((await api.fetch(url(`/api/images/${ids.corrupt}`), { method: 'DELETE' })).status, 200);
    assert.equal((await api.fetch<Envelope<{ failed: number }>>(url('/api/stats'))).body.data.failed, before.failed - 1);
  });

  test('GET /: the gallery page with a strict Content-Security-Policy; its files cached for a year; an unknown file 404', async () => {
    const page = await api.fetch<Buffer>(url('/'));
    assert.equal(page.status, 200);
    assert.match(page.res.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(page.res.headers.get('content-security-policy') ?? '', /default-src 'none'.*script-src 'self'/);
    assert.equal(page.res.headers.get('cache-control'), 'no-cache');
    const html = page.body.toString('utf8');
    const files = [...html.matchAll(/(?:src|href)="(gallery\/[^"]+)"/g)].map((match) => match[1] ?? '');
    assert.equal(files.length, 2, html);
    for (const file of files) {
      const asset = await api.fetch<Buffer>(url(`/${file}`));
      assert.equal(asset.status, 200, file);
      assert.equal(asset.res.headers.get('cache-control'), 'public, max-age=31536000, immutable');
      assert.match(asset.res.headers.get('content-type') ?? '', file.endsWith('.js') ? /^text\/javascript/ : /^text\/css/);
    }
    assert.equal((await api.fetch(url('/gallery/nothing.js'))).status, 404);
  });

  test('every answer above matched the document', () => {
    const checked = [...api.checked.keys()];
    for (const route of ['POST /api/images 202', 'GET /api/images 200', 'GET /api/images 400', 'GET /api/images/{id} 200', 'DELETE /api/images/{id} 200', 'DELETE /api/images/{id} 404', 'GET /api/images/{id}/thumbnails/{size} 304', 'GET /api/stats 200', 'GET / 200']) {
      assert.ok(checked.includes(route), `${route} was checked (checked: ${checked.join(', ')})`);
    }
    assert.ok(Object.values(ids).every((id) => UUID.test(id)));
  });
});
