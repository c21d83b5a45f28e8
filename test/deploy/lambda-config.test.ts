// What the deployed functions add to configuration: a `file:` database is
// refused on AWS Lambda, and the Hugging Face token comes from SSM Parameter
// Store (here a stand-in SSM endpoint) at cold start.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { captionConfigWithToken, loadConfig } from '../../lib/config.ts';
import { loadAccess } from '../../lib/access.ts';
import { openDatabase } from '../../lib/db/client.ts';
import { createDeps } from '../../lib/deps.ts';
import { ConfigError } from '../../lib/errors.ts';
import { createLogger } from '../../lib/log.ts';

const BASE = { BUCKET_NAME: 'bucket', QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/jobs' };
const ON_LAMBDA = { AWS_LAMBDA_FUNCTION_NAME: 'imageprocessingapi-dev-getStats' };

describe('LIBSQL_URL on AWS Lambda', () => {
  for (const url of ['file:.data/images.db', 'file:/tmp/images.db', 'FILE:/tmp/images.db']) {
    test(`${url} on Lambda: ConfigError naming LIBSQL_URL`, () => {
      assert.throws(
        () => loadConfig({ ...BASE, ...ON_LAMBDA, LIBSQL_URL: url }),
        (error: unknown) => error instanceof ConfigError && /LIBSQL_URL/.test(error.message) && /libSQL server/.test(error.message),
      );
    });
  }

  test('a libSQL server on Lambda is accepted', () => {
    assert.equal(loadConfig({ ...BASE, ...ON_LAMBDA, LIBSQL_URL: 'libsql://example.turso.io' }).databaseUrl, 'libsql://example.turso.io');
  });

  test('a file under serverless offline (IS_OFFLINE) and outside Lambda is accepted', () => {
    assert.equal(loadConfig({ ...BASE, ...ON_LAMBDA, IS_OFFLINE: 'true', LIBSQL_URL: 'file:.data/images.db' }).databaseUrl, 'file:.data/images.db');
    assert.equal(loadConfig({ ...BASE, LIBSQL_URL: 'file:.data/images.db' }).databaseUrl, 'file:.data/images.db');
  });

  test('no LIBSQL_URL at all is refused by name', () => {
    assert.throws(() => loadConfig({ ...BASE, ...ON_LAMBDA }), (error: unknown) => error instanceof ConfigError && /LIBSQL_URL/.test(error.message));
  });
});

describe('HF_TOKEN_PARAMETER', () => {
  test('must be a full path, as the IAM policy names it', () => {
    assert.equal(loadConfig({ ...BASE, LIBSQL_URL: 'file:x.db', HF_TOKEN_PARAMETER: '/app/dev/hf-token' }).hfTokenParameter, '/app/dev/hf-token');
    assert.equal(loadConfig({ ...BASE, LIBSQL_URL: 'file:x.db' }).hfTokenParameter, undefined);
    assert.throws(() => loadConfig({ ...BASE, LIBSQL_URL: 'file:x.db', HF_TOKEN_PARAMETER: 'hf-token' }), ConfigError);
  });

  test('the token read from SSM turns captions on, for the hosted API or an endpoint', () => {
    assert.deepEqual(captionConfigWithToken('hf_x', {}), {
      mode: 'hosted',
      token: 'hf_x',
      model: 'Salesforce/blip-image-captioning-large',
      timeoutMs: 15_000,
    });
    const endpoint = captionConfigWithToken('hf_x', { CAPTION_ENDPOINT_URL: 'https://example.endpoints.huggingface.cloud' });
    assert.equal(endpoint.mode, 'endpoint');
    assert.equal(endpoint.mode === 'endpoint' ? endpoint.token : undefined, 'hf_x');
  });

  /** A stand-in SSM endpoint (JSON protocol) that knows one parameter. */
  async function withSsm(
    parameters: Record<string, string>,
    body: (endpoint: string, requests: Array<Record<string, unknown>>) => Promise<void>,
  ): Promise<void> {
    const requests: Array<Record<string, unknown>> = [];
    const server = createServer((req, res) => {
      let raw = '';
      req.on('data', (chunk: Buffer) => (raw += chunk.toString('utf8')));
      req.on('end', () => {
        const request = JSON.parse(raw) as Record<string, unknown>;
        requests.push({ ...request, target: req.headers['x-amz-target'] });
        const name = String(request.Name);
        const value = parameters[name];
        res.setHeader('content-type', 'application/x-amz-json-1.1');
        if (value === undefined) {
          res.statusCode = 400;
          res.end(JSON.stringify({ __type: 'ParameterNotFound', message: `${name} not found` }));
          return;
        }
        res.end(JSON.stringify({ Parameter: { Name: name, Type: 'SecureString', Value: value, Version: 1 } }));
      });
    });
    await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
    try {
      await body(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests);
    } finally {
      server.close();
    }
  }

  async function captionerMode(endpoint: string, parameter: string): Promise<string> {
    const dir = mkdtempSync(join(tmpdir(), 'ssm-deps-'));
    try {
      const config = loadConfig({ ...BASE, LIBSQL_URL: `file:${join(dir, 'images.db')}`, AWS_ENDPOINT_URL: endpoint, HF_TOKEN_PARAMETER: parameter });
      const deps = await createDeps(config, createLogger({ level: 'silent', file: undefined }));
      deps.db.close();
      return deps.captioner?.mode ?? 'off';
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  test('createDeps reads the SecureString, decrypted, once', async () => {
    await withSsm({ '/imageprocessingapi/dev/hf-token': 'hf_secret' }, async (endpoint, requests) => {
      // hosted, or endpoint when the shell running the tests sets CAPTION_ENDPOINT_URL
      assert.notEqual(await captionerMode(endpoint, '/imageprocessingapi/dev/hf-token'), 'off');
      assert.deepEqual(requests, [{ Name: '/imageprocessingapi/dev/hf-token', WithDecryption: true, target: 'AmazonSSM.GetParameter' }]);
    });
  });

  test('a parameter that does not exist leaves captions off instead of failing every image', async () => {
    await withSsm({}, async (endpoint, requests) => {
      assert.equal(await captionerMode(endpoint, '/imageprocessingapi/dev/hf-token'), 'off');
      assert.equal(requests.length, 1);
    });
  });

  test('LIBSQL_AUTH_TOKEN_PARAMETER: createDeps reads the database token from SSM before opening the database', async () => {
    await withSsm({ '/imageprocessingapi/dev/libsql-auth-token': 'db-token' }, async (endpoint, requests) => {
      const dir = mkdtempSync(join(tmpdir(), 'ssm-db-'));
      try {
        const config = loadConfig({
          ...BASE,
          LIBSQL_URL: `file:${join(dir, 'images.db')}`,
          AWS_ENDPOINT_URL: endpoint,
          LIBSQL_AUTH_TOKEN_PARAMETER: '/imageprocessingapi/dev/libsql-auth-token',
        });
        (await createDeps(config, createLogger({ level: 'silent', file: undefined }))).db.close();
        assert.deepEqual(requests, [{ Name: '/imageprocessingapi/dev/libsql-auth-token', WithDecryption: true, target: 'AmazonSSM.GetParameter' }]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  test('THUMBNAIL_URL_SECRET_PARAMETER: the signing secret comes from SSM; a missing parameter fails the first signed link by name', async () => {
    const secret = 's'.repeat(40);
    const env = { ...BASE, LIBSQL_URL: ':memory:', AUTH_MODE: 'api-key', THUMBNAIL_URL_SECRET_PARAMETER: '/imageprocessingapi/dev/thumbnail-url-secret' };
    await withSsm({ '/imageprocessingapi/dev/thumbnail-url-secret': secret }, async (endpoint, requests) => {
      const access = await loadAccess(loadConfig({ ...env, AWS_ENDPOINT_URL: endpoint }), await openDatabase(':memory:'));
      assert.match(access.links('https://api.example')('id').small, /[?&]signature=/);
      assert.equal(requests.length, 1);
    });
    await withSsm({}, async (endpoint) => {
      const access = await loadAccess(loadConfig({ ...env, AWS_ENDPOINT_URL: endpoint }), await openDatabase(':memory:'));
      assert.throws(() => access.links('https://api.example'), (error: unknown) => error instanceof ConfigError && error.message.includes('/imageprocessingapi/dev/thumbnail-url-secret'));
    });
  });
});
