// AUTH_MODE=api-key through the real stack (serverless-offline running the
// same middleware as AWS): keys made with `npm run api-key`, refused requests
// that do no work, signed thumbnail links, and EXIF with nothing private.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { PROJECT_ROOT } from '../../local/resources.ts';
import { jpegWithPrivateExif, PRIVATE_VALUES } from '../support/private-exif-images.ts';
import { readSample } from '../support/sample-images.ts';
import { startStack } from '../support/stack.ts';
import type { RunningStack } from '../support/stack.ts';
import type { Envelope, ImageDetail } from '../support/api-types.ts';
import { photoForm, plainFetchJson, waitForFinal as waitForFinalWith } from '../support/api-client.ts';
import type { FetchJson } from '../support/api-client.ts';

const REFUSED = { status: 'error', data: null, error: 'Missing or invalid API key' };
const LINK_TTL_SECONDS = 6;

describe('AUTH_MODE=api-key through the local stack', { timeout: 300_000 }, () => {
  const workDir = mkdtempSync(join(tmpdir(), 'imageprocessingapi-access-'));
  const dataDir = join(workDir, 'data');
  let stack: RunningStack;
  let key: string;
  let revokedKey: string;
  const ids: string[] = [];

  /** `npm run api-key -- ...` against the stack's database; its output lines. */
  const apiKeyTool = (...args: string[]): string[] =>
    execFileSync(process.execPath, [resolve(PROJECT_ROOT, 'local/api-key.ts'), ...args], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, DATA_DIR: dataDir, LIBSQL_URL: '' },
      encoding: 'utf8',
    })
      .trimEnd()
      .split('\n');

  const call = async (method: string, path: string, headers: Record<string, string> = {}, body?: FormData): Promise<{ status: number; headers: Headers; body: unknown }> => {
    const res = await fetch(`${stack.apiUrl}${path}`, { method, headers, body });
    const type = res.headers.get('content-type') ?? '';
    return { status: res.status, headers: res.headers, body: type.startsWith('application/json') ? await res.json() : Buffer.from(await res.arrayBuffer()) };
  };
  const form = async (bytes?: Buffer): Promise<FormData> => photoForm('photo.jpg', bytes ?? (await readSample('cameras/Canon_40D.jpg')));
  const bearer = (k: string): Record<string, string> => ({ authorization: `Bearer ${k}` });

  const withKey: FetchJson = (url, init) => plainFetchJson(url, { ...init, headers: { 'x-api-key': key } });
  const waitForFinal = (id: string): Promise<ImageDetail> => waitForFinalWith(stack.apiUrl, id, { timeoutMs: 60_000, intervalMs: 100, fetchJson: withKey });

  before(async () => {
    stack = await startStack({ dataDir, env: { AUTH_MODE: 'api-key', THUMBNAIL_URL_TTL_SECONDS: String(LINK_TTL_SECONDS) } });
    const created = apiKeyTool('create', '--name', 'e2e');
    key = created.at(-1) ?? '';
    assert.match(key, /^ipk_[\w-]{43}$/, 'the key alone on the last line');
    revokedKey = apiKeyTool('create', '--name', 'old').at(-1) ?? '';
    apiKeyTool('revoke', 'old');
  });

  after(async () => {
    if (process.env.E2E_DEBUG) console.log(stack?.output());
    await stack?.stop();
    rmSync(workDir, { recursive: true, force: true });
  });

  test('npm run api-key -- list: names, creation and last use, never a key or its hash', () => {
    const lines = apiKeyTool('list');
    const text = lines.join('\n');
    assert.match(text, /^name\s+status\s+created\s+last used/);
    assert.ok(lines.some((line) => /^e2e\s+active\s/.test(line)), text);
    assert.ok(lines.some((line) => /^old\s+revoked /.test(line)), text);
    assert.ok(!text.includes(key) && !text.includes(revokedKey) && !/[0-9a-f]{64}/.test(text), text);
  });

  test('no key, a wrong key, a revoked key, a key in the query string → 401 envelope on every route, nothing stored', async () => {
    const someId = '00000000-0000-4000-8000-000000000000';
    const attempts: Array<[string, Record<string, string>, string]> = [
      ['no key', {}, ''],
      ['wrong key', bearer('ipk_0123456789012345678901234567890123456789012'), ''],
      ['wrong x-api-key', { 'x-api-key': 'hunter2' }, ''],
      ['revoked key', bearer(revokedKey), ''],
      ['key in the query string', {}, `?api_key=${key}&x-api-key=${key}&access_token=${key}`],
    ];
    for (const [label, headers, query] of attempts) {
      const routes: Array<[string, string, FormData | undefined]> = [
        ['POST', `/api/images${query}`, await form()],
        ['GET', `/api/images${query}`, undefined],
        ['GET', `/api/images/${someId}${query}`, undefined],
        ['GET', `/api/images/${someId}/thumbnails/small${query}`, undefined],
        ['GET', `/api/stats${query}`, undefined],
        ['POST', `/api/images/${someId}/reprocess${query}`, undefined],
        ['DELETE', `/api/images/${someId}${query}`, undefined],
      ];
      for (const [method, path, body] of routes) {
        const res = await call(method, path, headers, body);
        assert.equal(res.status, 401, `${label}: ${method} ${path}`);
        assert.deepEqual(res.body, REFUSED, `${label}: ${method} ${path}`);
        assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
      }
    }
    const stats = await call('GET', '/api/stats', bearer(key));
    assert.equal(stats.status, 200);
    assert.equal((stats.body as Envelope<{ total: number }>).data.total, 0, 'a refused upload stored nothing');
  });

  test('a valid key → the whole workflow; EXIF with serial numbers, owner, description and GPS → none of it served', async () => {
    const upload = await call('POST', '/api/images', bearer(key), await form(await jpegWithPrivateExif()));
    assert.equal(upload.status, 202, JSON.stringify(upload.body));
    assert.equal(upload.headers.get('x-content-type-options'), 'nosniff');
    const queued = (upload.body as Envelope<ImageDetail>).data;
    assert.match(queued.thumbnails.small, /\?expires=\d+&signature=/, 'the upload answer links signed thumbnails');
    ids.push(queued.image_id);
    const second = await call('POST', '/api/images', { 'x-api-key': key }, await form());
    assert.equal(second.status, 202);
    ids.push((second.body as Envelope<ImageDetail>).data.image_id);

    const detail = await waitForFinal(queued.image_id);
    assert.equal(detail.status, 'success', detail.error ?? '');
    const exif = JSON.parse(detail.exif ?? 'null') as Record<string, unknown>;
    assert.equal(exif.Make, 'Acme');
    for (const value of PRIVATE_VALUES) assert.ok(!detail.exif?.includes(value), `${value} served`);
    assert.deepEqual(Object.keys(exif).filter((k) => k.startsWith('GPS') || k === 'latitude'), []);
    assert.equal((await waitForFinal(ids[1] ?? '')).status, 'success');

    const list = await call('GET', '/api/images', bearer(key));
    assert.equal(list.status, 200);
    const items = (list.body as Envelope<ImageDetail[]>).data;
    assert.deepEqual(items.map((item) => item.image_id).sort(), [...ids].sort());
    for (const item of items) assert.match(item.thumbnails.medium, /\/thumbnails\/medium\?expires=\d+&signature=[\w-]+$/);
    assert.equal((await call('GET', '/api/stats', bearer(key))).status, 200);
    const reprocess = await call('POST', `/api/images/${ids[1]}/reprocess`, bearer(key));
    assert.notEqual(reprocess.status, 401, 'reprocess takes the key like uploads');
  });

  test('a signed thumbnail URL: works without a key until it expires, never for another image or size', async () => {
    const [first = '', second = ''] = ids;
    const detail = (await call('GET', `/api/images/${first}`, bearer(key))).body as Envelope<ImageDetail>;
    const signed = new URL(detail.data.thumbnails.small);
    const expires = Number(signed.searchParams.get('expires'));

    const res = await fetch(signed);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'image/jpeg');
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(res.headers.get('content-disposition'), `inline; filename="${first}-small.jpg"`);
    assert.equal(res.headers.get('cache-control'), 'private, max-age=31536000, immutable');

    const forOther = new URL(signed.href.replace(first, second));
    const otherSize = new URL(signed.href.replace('/small?', '/medium?'));
    for (const url of [forOther, otherSize]) {
      const refused = await call('GET', `${url.pathname}${url.search}`);
      assert.equal(refused.status, 401, url.href);
      assert.deepEqual(refused.body, { status: 'error', data: null, error: 'Thumbnail link invalid or expired' });
    }
    // Unsigned: a key opens it, nothing else does.
    assert.equal((await call('GET', signed.pathname)).status, 401);
    assert.equal((await call('GET', signed.pathname, bearer(key))).status, 200);

    await sleep(Math.max(0, expires * 1000 - Date.now()) + 300);
    const expired = await call('GET', `${signed.pathname}${signed.search}`);
    assert.equal(expired.status, 401, 'the link expired');
  });

  test('the gallery page, its files and the OpenAPI document open without a key; the document says which routes want one', async () => {
    const page = await call('GET', '/');
    assert.equal(page.status, 200);
    const html = (page.body as Buffer).toString('utf8');
    for (const [, file] of html.matchAll(/(?:src|href)="(gallery\/[^"]+)"/g)) assert.equal((await call('GET', `/${file}`)).status, 200, file);
    const document = await call('GET', '/api/openapi.json');
    assert.equal(document.status, 200);
    const paths = (document.body as { paths: Record<string, Record<string, { security: unknown[] }>> }).paths;
    assert.deepEqual(paths['/api/images']?.post?.security, [{ bearerAuth: [] }, { apiKeyHeader: [] }]);
    assert.deepEqual(paths['/api/images']?.get?.security, [{ bearerAuth: [] }, { apiKeyHeader: [] }]);
    assert.deepEqual(paths['/']?.get?.security, []);
  });

  test('DELETE with the key: the image and its count go', async () => {
    const [, second = ''] = ids;
    const total = (await call('GET', '/api/stats', bearer(key))).body as Envelope<{ total: number }>;
    const res = await call('DELETE', `/api/images/${second}`, bearer(key));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal((await call('GET', `/api/images/${second}`, bearer(key))).status, 404);
    const after = (await call('GET', '/api/stats', bearer(key))).body as Envelope<{ total: number }>;
    assert.equal(after.data.total, total.data.total - 1);
  });

  test('npm run api-key -- revoke: the key is refused from the next request on', async () => {
    assert.equal((await call('GET', '/api/stats', bearer(key))).status, 200);
    assert.match(apiKeyTool('revoke', 'e2e').join('\n'), /Revoked API key "e2e"/);
    const res = await call('GET', '/api/stats', bearer(key));
    assert.equal(res.status, 401);
    assert.deepEqual(res.body, REFUSED);
  });
});
