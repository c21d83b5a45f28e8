// The OpenAPI document: valid OpenAPI 3.1 for every access setting, and
// exactly the routes serverless.yml deploys, so neither can drift from the other.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, test } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { parseDocument } from 'yaml';
import type { AccessConfig } from '../../lib/config.ts';
import { openApiDocument } from '../../lib/openapi.ts';
import { createResponseValidator } from '../support/openapi-responses.ts';

type Access = Pick<AccessConfig, 'mode' | 'readAccess'>;
const SETTINGS: Access[] = [
  { mode: 'none', readAccess: 'public' },
  { mode: 'api-key', readAccess: 'public' },
  { mode: 'api-key', readAccess: 'authenticated' },
  { mode: 'jwt', readAccess: 'authenticated' },
];

function documentFor(access: Access): Record<string, unknown> {
  return openApiDocument({ baseUrl: 'https://api.example.com', access, maxUploadBytes: 4 * 1024 * 1024, maxDirectUploadBytes: 50 * 1024 * 1024 });
}

type Operations = Record<string, Record<string, { security?: unknown[]; responses: Record<string, unknown> }>>;

/** "METHOD /path" of every httpApi event in serverless.yml. */
function deployedRoutes(): string[] {
  const text = readFileSync(resolve(import.meta.dirname, '../../serverless.yml'), 'utf8');
  // CloudFormation's short tags (!Sub, !Ref, ...) mean nothing here: kept as plain values.
  const parsed = parseDocument(text, { logLevel: 'silent' }).toJS() as { functions: Record<string, { events?: Array<{ httpApi?: { method: string; path: string } }> }> };
  return Object.values(parsed.functions)
    .flatMap((fn) => fn.events ?? [])
    .flatMap((event) => (event.httpApi ? [`${event.httpApi.method.toUpperCase()} ${event.httpApi.path}`] : []))
    .sort();
}

describe('OpenAPI document', () => {
  for (const access of SETTINGS) {
    test(`AUTH_MODE=${access.mode} READ_ACCESS=${access.readAccess}: a valid OpenAPI 3.1 document`, async () => {
      const validator = new Validator();
      const result = await validator.validate(documentFor(access));
      assert.equal(result.valid, true, JSON.stringify(result.errors, null, 2));
      assert.equal(validator.version, '3.1');
    });
  }

  test('documents exactly the routes serverless.yml deploys, each with its answers and the 500', () => {
    const paths = documentFor(SETTINGS[0]!).paths as Operations;
    const documented = Object.entries(paths)
      .flatMap(([path, item]) => Object.keys(item).filter((key) => key !== 'parameters').map((method) => `${method.toUpperCase()} ${path}`))
      .sort();
    assert.deepEqual(documented, deployedRoutes());
    for (const [path, item] of Object.entries(paths)) {
      for (const [method, operation] of Object.entries(item)) {
        if (method === 'parameters') continue;
        const codes = Object.keys(operation.responses);
        assert.ok(codes.some((code) => code.startsWith('2')), `${method} ${path} has a success answer`);
        if (path.startsWith('/api/') && path !== '/api/openapi.json') assert.ok(codes.includes('500'), `${method} ${path} documents the 500`);
      }
    }
  });

  test('security follows the settings: open with AUTH_MODE=none; writes need a key with api-key; reads too when authenticated; 401 documented where it can happen', () => {
    const security = (access: Access, method: string, path: string): unknown[] | undefined => (documentFor(access).paths as Operations)[path]?.[method]?.security;
    const has401 = (access: Access, method: string, path: string): boolean => '401' in ((documentFor(access).paths as Operations)[path]?.[method]?.responses ?? {});
    const [none, keysPublic, keysPrivate, jwt] = SETTINGS as [Access, Access, Access, Access];
    assert.deepEqual(security(none, 'post', '/api/images'), []);
    assert.equal(has401(none, 'post', '/api/images'), false);
    assert.deepEqual(security(keysPublic, 'post', '/api/images'), [{ bearerAuth: [] }, { apiKeyHeader: [] }]);
    assert.deepEqual(security(keysPublic, 'delete', '/api/images/{id}'), [{ bearerAuth: [] }, { apiKeyHeader: [] }]);
    assert.deepEqual(security(keysPublic, 'get', '/api/images'), []);
    assert.equal(has401(keysPublic, 'get', '/api/images'), false);
    assert.deepEqual(security(keysPrivate, 'get', '/api/images'), [{ bearerAuth: [] }, { apiKeyHeader: [] }]);
    assert.equal(has401(keysPrivate, 'get', '/api/stats'), true);
    assert.deepEqual(security(keysPrivate, 'get', '/api/images/{id}/thumbnails/{size}'), [{ bearerAuth: [] }, { apiKeyHeader: [] }, {}]);
    assert.deepEqual(security(jwt, 'get', '/api/images'), [{ bearerAuth: [] }]);
    for (const access of SETTINGS) {
      assert.deepEqual(security(access, 'get', '/'), []);
      assert.deepEqual(security(access, 'get', '/api/openapi.json'), []);
    }
  });

  test('every component schema compiles, and the response checker refuses undocumented fields, statuses and routes', () => {
    const responses = createResponseValidator(documentFor(SETTINGS[0]!));
    const summary = {
      image_id: '0b6c2f8e-8d0a-4c8e-9d6c-2b1f0e3a4b5c',
      original_name: 'a.jpg',
      status: 'queued',
      created_at: '2026-01-01T00:00:00.000Z',
      processed_at: null,
      thumbnails: { small: 'https://api.example.com/a/small', medium: 'https://api.example.com/a/medium' },
    };
    const ok = { method: 'GET', path: '/api/images', status: 200, contentType: 'application/json; charset=utf-8' };
    responses.check({ ...ok, body: { status: 'success', data: [summary], error: null } });
    assert.throws(() => responses.check({ ...ok, body: { status: 'success', data: [{ ...summary, extra: 1 }], error: null } }), /must NOT have additional properties/);
    assert.throws(() => responses.check({ ...ok, body: { status: 'success', data: [{ ...summary, status: 'done' }], error: null } }), /does not match/);
    assert.throws(() => responses.check({ ...ok, status: 418, body: null }), /status not documented/);
    assert.throws(() => responses.check({ ...ok, path: '/api/nothing', body: null }), /no documented path/);
    responses.check({ method: 'GET', path: '/api/openapi.json', status: 200, contentType: 'application/json', body: {} });
    responses.check({ method: 'GET', path: '/api/images/x/thumbnails/small', status: 304, contentType: null, body: null });
  });
});
