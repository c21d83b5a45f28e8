// lib/access.ts with real parts: API keys in a libSQL file, signed thumbnail
// links, and JWTs checked against a JWKS served over HTTP on loopback.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import type { CryptoKey } from 'jose';
import { createAccess, INVALID_THUMBNAIL_LINK, MISSING_OR_INVALID_KEY, MISSING_OR_INVALID_TOKEN } from '../../lib/access.ts';
import type { Access, RouteAccess } from '../../lib/access.ts';
import { createApiKey, hashApiKey } from '../../lib/api-keys.ts';
import { loadConfig } from '../../lib/config.ts';
import { createApiKeysRepository } from '../../lib/db/api-keys-repository.ts';
import type { ApiKeysRepository } from '../../lib/db/api-keys-repository.ts';
import { openDatabase } from '../../lib/db/client.ts';
import type { DatabaseClient } from '../../lib/db/client.ts';
import { ConfigError, UnauthorizedError } from '../../lib/errors.ts';
import { createThumbnailLinkSigner } from '../../lib/thumbnail-links.ts';

const BASE = { BUCKET_NAME: 'b', QUEUE_URL: 'q', LIBSQL_URL: 'file:x.db' };
const SECRET = 'a-test-secret-that-is-long-enough-1234567890';
const ID = '0f8fad5b-d9cb-469f-a165-70867728950e';
const OTHER_ID = '7c9e6679-7425-40de-944b-e07fc1f90ae7';

function event(options: { headers?: Record<string, string>; query?: Record<string, string>; id?: string; size?: string } = {}): APIGatewayProxyEventV2 {
  return {
    headers: options.headers ?? {},
    queryStringParameters: options.query,
    pathParameters: { id: options.id ?? ID, size: options.size ?? 'small' },
  } as unknown as APIGatewayProxyEventV2;
}

async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof UnauthorizedError, `expected UnauthorizedError, got ${String(error)}`);
    assert.equal(error.statusCode, 401);
    return error.message;
  }
  assert.fail('expected a 401');
}

function linkQuery(url: string): Record<string, string> {
  return Object.fromEntries(new URL(url).searchParams);
}

describe('access with AUTH_MODE=api-key', () => {
  let dir: string;
  let db: DatabaseClient;
  let keys: ApiKeysRepository;
  let key: string;
  const access = (env: Record<string, string> = {}): Access =>
    createAccess(loadConfig({ ...BASE, AUTH_MODE: 'api-key', THUMBNAIL_URL_SECRET: SECRET, ...env }).access, { apiKeys: keys, thumbnailUrlSecret: SECRET });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'access-'));
    db = await openDatabase(`file:${join(dir, 'images.db')}`);
    keys = createApiKeysRepository(db);
    key = (await createApiKey(keys, 'laptop')).key;
  });
  after(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the key is stored only as its SHA-256: no column holds the key', async () => {
    const rows = await db.execute('SELECT * FROM api_keys');
    assert.equal(rows.rows.length, 1);
    const stored = JSON.stringify(rows.rows[0]);
    assert.ok(!stored.includes(key));
    assert.ok(stored.includes(hashApiKey(key)));
  });

  for (const route of ['write', 'read', 'thumbnail'] as RouteAccess[]) {
    test(`${route} route: no credential, a wrong key, a key in the query string, Basic auth → 401 "${MISSING_OR_INVALID_KEY}"`, async () => {
      const a = access();
      for (const e of [
        event(),
        event({ headers: { authorization: 'Bearer ipk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' } }),
        event({ headers: { 'x-api-key': 'not-a-key' } }),
        event({ query: { api_key: key, 'x-api-key': key } }),
        event({ headers: { authorization: `Basic ${key}` } }),
      ]) {
        assert.equal(await refusal(a.check(e, route)), MISSING_OR_INVALID_KEY);
      }
    });

    test(`${route} route: Authorization: Bearer <key> and x-api-key: <key> → allowed`, async () => {
      const a = access();
      await a.check(event({ headers: { authorization: `Bearer ${key}` } }), route);
      await a.check(event({ headers: { Authorization: `bearer ${key}` } }), route);
      await a.check(event({ headers: { 'x-api-key': key } }), route);
    });
  }

  test('a use records last_used_at', async () => {
    await access().check(event({ headers: { 'x-api-key': key } }), 'read');
    const [record] = await keys.list();
    assert.ok(record?.lastUsedAt && Date.now() - Date.parse(record.lastUsedAt) < 60_000);
  });

  test('READ_ACCESS=public: reads and thumbnails need nothing, uploads still need a key', async () => {
    const a = access({ READ_ACCESS: 'public' });
    await a.check(event(), 'read');
    await a.check(event(), 'thumbnail');
    assert.equal(await refusal(a.check(event(), 'write')), MISSING_OR_INVALID_KEY);
    assert.doesNotMatch(a.links('https://api.example')(ID).small, /\?/, 'public links are not signed');
  });

  test('signed link: opens exactly its own thumbnail; another image, another size or a changed expiry → 401', async () => {
    const a = access();
    const urls = a.links('https://api.example')(ID);
    assert.match(urls.small, new RegExp(`^https://api\\.example/api/images/${ID}/thumbnails/small\\?expires=\\d+&signature=[\\w-]+$`));
    await a.check(event({ query: linkQuery(urls.small), size: 'small' }), 'thumbnail');
    await a.check(event({ query: linkQuery(urls.medium), size: 'medium' }), 'thumbnail');
    assert.equal(await refusal(a.check(event({ query: linkQuery(urls.small), size: 'medium' }), 'thumbnail')), INVALID_THUMBNAIL_LINK);
    assert.equal(await refusal(a.check(event({ query: linkQuery(urls.small), id: OTHER_ID }), 'thumbnail')), INVALID_THUMBNAIL_LINK);
    const query = linkQuery(urls.small);
    const later = { ...query, expires: String(Number(query.expires) + 3600) };
    assert.equal(await refusal(a.check(event({ query: later }), 'thumbnail')), INVALID_THUMBNAIL_LINK);
    // A signature opens the thumbnail route only.
    assert.equal(await refusal(a.check(event({ query }), 'read')), MISSING_OR_INVALID_KEY);
  });

  test('signed link: valid until its expiry, refused from then on', () => {
    let now = Date.parse('2030-01-01T00:00:00Z');
    const signer = createThumbnailLinkSigner({ secret: SECRET, ttlSeconds: 60, now: () => now });
    const query = Object.fromEntries(new URLSearchParams(signer.sign(ID, 'small')));
    const expires = Number(query.expires);
    assert.ok(expires >= now / 1000 + 60 && expires <= now / 1000 + 66, String(expires));
    now = expires * 1000 - 1;
    assert.equal(signer.verify(ID, 'small', query), true);
    now = expires * 1000;
    assert.equal(signer.verify(ID, 'small', query), false);
    const other = createThumbnailLinkSigner({ secret: `${SECRET}x`, ttlSeconds: 60, now: () => expires * 1000 - 10_000 });
    assert.equal(other.verify(ID, 'small', query), false, 'another secret');
  });

  test('revoked key → 401 at once; the name can be given to a new key', async () => {
    const { key: doomed } = await createApiKey(keys, 'ci');
    await access().check(event({ headers: { 'x-api-key': doomed } }), 'write');
    await assert.rejects(createApiKey(keys, 'ci'), /active key named ci/);
    assert.equal(await keys.revoke('ci', new Date()), true);
    assert.equal(await refusal(access().check(event({ headers: { 'x-api-key': doomed } }), 'write')), MISSING_OR_INVALID_KEY);
    assert.equal(await keys.revoke('ci', new Date()), false);
    const { key: fresh } = await createApiKey(keys, 'ci');
    await access().check(event({ headers: { 'x-api-key': fresh } }), 'write');
  });

  test('reads authenticated without a signing secret → ConfigError naming THUMBNAIL_URL_SECRET when links are made', () => {
    const a = createAccess(loadConfig({ ...BASE, AUTH_MODE: 'api-key' }).access, { apiKeys: keys, thumbnailUrlSecret: undefined });
    assert.throws(() => a.links('https://api.example'), (error: unknown) => error instanceof ConfigError && /THUMBNAIL_URL_SECRET/.test(error.message));
  });
});

describe('access configuration', () => {
  test('AUTH_MODE defaults: none locally and under serverless-offline, api-key on AWS Lambda', () => {
    assert.equal(loadConfig(BASE).access.mode, 'none');
    assert.equal(loadConfig({ ...BASE, AWS_LAMBDA_FUNCTION_NAME: 'f', IS_OFFLINE: 'true' }).access.mode, 'none');
    assert.equal(loadConfig({ ...BASE, LIBSQL_URL: 'libsql://db.example', AWS_LAMBDA_FUNCTION_NAME: 'f' }).access.mode, 'api-key');
  });

  test('READ_ACCESS defaults to authenticated when auth is on; authenticated with AUTH_MODE=none → ConfigError', () => {
    assert.equal(loadConfig({ ...BASE, AUTH_MODE: 'api-key' }).access.readAccess, 'authenticated');
    assert.equal(loadConfig(BASE).access.readAccess, 'public');
    assert.throws(() => loadConfig({ ...BASE, READ_ACCESS: 'authenticated' }), ConfigError);
    assert.throws(() => loadConfig({ ...BASE, AUTH_MODE: 'apikey' }), /AUTH_MODE must be one of none, api-key, jwt/);
  });

  test('THUMBNAIL_URL_SECRET shorter than 32 characters → ConfigError', () => {
    assert.throws(() => loadConfig({ ...BASE, AUTH_MODE: 'api-key', THUMBNAIL_URL_SECRET: 'short' }), /THUMBNAIL_URL_SECRET/);
  });

  test('AUTH_MODE=jwt needs JWT_ISSUER and JWT_AUDIENCE; the JWKS URL defaults under the issuer and must be https', () => {
    assert.throws(() => loadConfig({ ...BASE, AUTH_MODE: 'jwt' }), /JWT_ISSUER/);
    assert.throws(() => loadConfig({ ...BASE, AUTH_MODE: 'jwt', JWT_ISSUER: 'https://id.example/' }), /JWT_AUDIENCE/);
    const jwt = loadConfig({ ...BASE, AUTH_MODE: 'jwt', JWT_ISSUER: 'https://id.example/', JWT_AUDIENCE: 'api' }).access.jwt;
    assert.deepEqual(jwt, { issuer: 'https://id.example/', audience: 'api', jwksUrl: 'https://id.example/.well-known/jwks.json' });
    assert.throws(() => loadConfig({ ...BASE, AUTH_MODE: 'jwt', JWT_ISSUER: 'http://id.example', JWT_AUDIENCE: 'api' }), /JWT_JWKS_URL must be https/);
  });
});

describe('access with AUTH_MODE=jwt against a JWKS on loopback', () => {
  const ISSUER = 'https://id.example/';
  let server: Server;
  let jwksUrl: string;
  let signingKey: CryptoKey;
  let strangerKey: CryptoKey;
  let access: Access;

  const token = (claims: { iss?: string; aud?: string; exp?: string | number } = {}, key: CryptoKey = signingKey): Promise<string> =>
    new SignJWT({ sub: 'user-1' })
      .setProtectedHeader({ alg: 'ES256', kid: key === signingKey ? 'k1' : 'k2' })
      .setIssuer(claims.iss ?? ISSUER)
      .setAudience(claims.aud ?? 'images-api')
      .setIssuedAt()
      .setExpirationTime(claims.exp ?? '5m')
      .sign(key);

  before(async () => {
    const pair = await generateKeyPair('ES256');
    signingKey = pair.privateKey;
    strangerKey = (await generateKeyPair('ES256')).privateKey;
    const jwks = { keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' }] };
    server = createServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(jwks));
    });
    await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
    jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
    const config = loadConfig({ ...BASE, AUTH_MODE: 'jwt', JWT_ISSUER: ISSUER, JWT_AUDIENCE: 'images-api', JWT_JWKS_URL: jwksUrl, READ_ACCESS: 'public' });
    access = createAccess(config.access, { apiKeys: createApiKeysRepository(await openDatabase(':memory:')), thumbnailUrlSecret: undefined });
  });
  after(() => server.close());

  test('a token of the issuer for the audience → allowed', async () => {
    await access.check(event({ headers: { authorization: `Bearer ${await token()}` } }), 'write');
  });

  test('no token, an API key header, another audience or issuer, expired, signed by another key, garbage → 401', async () => {
    const bad = [
      undefined,
      await token({ aud: 'other-api' }),
      await token({ iss: 'https://evil.example/' }),
      await token({ exp: Math.floor(Date.now() / 1000) - 120 }),
      await token({}, strangerKey),
      'not.a.jwt',
    ];
    for (const t of bad) {
      const headers: Record<string, string> = t === undefined ? { 'x-api-key': 'ipk_whatever' } : { authorization: `Bearer ${t}` };
      assert.equal(await refusal(access.check(event({ headers }), 'write')), MISSING_OR_INVALID_TOKEN);
    }
  });
});
