// Who may call which route: one check, run by the middleware of every HTTP
// function (lib/http.ts) before anything else, under serverless-offline
// exactly as on AWS.
//   AUTH_MODE=none     everything is open (the local default).
//   AUTH_MODE=api-key  `Authorization: Bearer <key>` or `x-api-key: <key>`, a key of `npm run api-key`.
//   AUTH_MODE=jwt      `Authorization: Bearer <JWT>` from the configured OIDC issuer (on AWS
//                      API Gateway's JWT authorizer checks it first; this check runs too).
// The gallery page and the OpenAPI document (`public`) hold no data and are
// always open. Uploads, reprocessing and deletes always need a credential once auth is on; reads
// need one when READ_ACCESS=authenticated, and a thumbnail also opens with a
// signed link (lib/thumbnail-links.ts). A credential in the query string is
// never read: URLs end up in logs and browser histories.
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { verifyApiKey } from './api-keys.ts';
import type { AccessConfig, Config } from './config.ts';
import { createApiKeysRepository } from './db/api-keys-repository.ts';
import type { ApiKeysRepository } from './db/api-keys-repository.ts';
import type { DatabaseClient } from './db/client.ts';
import { ConfigError, UnauthorizedError } from './errors.ts';
import type { ThumbnailLinks } from './presenters.ts';
import { readSecureParameter } from './secure-parameters.ts';
import type { ThumbnailLinkSigner } from './thumbnail-links.ts';
import { createThumbnailLinkSigner, SIGNATURE_PARAM } from './thumbnail-links.ts';

export type RouteAccess = 'write' | 'read' | 'thumbnail' | 'public';

export const MISSING_OR_INVALID_KEY = 'Missing or invalid API key';
export const MISSING_OR_INVALID_TOKEN = 'Missing or invalid bearer token';
export const INVALID_THUMBNAIL_LINK = 'Thumbnail link invalid or expired';

export interface Access {
  /** @throws UnauthorizedError unless the request may use a route of this kind. */
  check(event: APIGatewayProxyEventV2, route: RouteAccess): Promise<void>;
  /** The thumbnail URLs to hand out under this base URL: signed and expiring when reads need a credential. */
  links(baseUrl: string): ThumbnailLinks;
}

export interface AccessDeps {
  apiKeys: ApiKeysRepository;
  /** The signing secret (config, or SSM on AWS); needed only when reads are authenticated. */
  thumbnailUrlSecret: string | undefined;
}

export function createAccess(config: AccessConfig, deps: AccessDeps): Access {
  // Built on first use: a function that hands out no links (stats) needs no secret.
  let builtSigner: ThumbnailLinkSigner | null | undefined;
  const signer = (): ThumbnailLinkSigner | null =>
    (builtSigner ??= config.mode !== 'none' && config.readAccess === 'authenticated' ? linkSigner(config, deps.thumbnailUrlSecret) : null);
  const verifyCredential = credentialCheck(config, deps);

  return {
    async check(event, route) {
      if (config.mode === 'none' || route === 'public') return;
      if (route !== 'write' && config.readAccess === 'public') return;
      if (route === 'thumbnail' && event.queryStringParameters?.[SIGNATURE_PARAM] !== undefined) {
        const { id = '', size = '' } = event.pathParameters ?? {};
        if (signer()?.verify(id, size, event.queryStringParameters)) return;
        throw new UnauthorizedError(INVALID_THUMBNAIL_LINK);
      }
      await verifyCredential(event);
    },
    links(baseUrl) {
      const links = signer();
      return (id) => {
        const url = (size: string): string => {
          const path = `${baseUrl}/api/images/${id}/thumbnails/${size}`;
          return links === null ? path : `${path}?${links.sign(id, size)}`;
        };
        return { small: url('small'), medium: url('medium') };
      };
    },
  };
}

/** The access check of an HTTP function, with the signing secret read from SSM on AWS when reads need it. */
export async function loadAccess(config: Pick<Config, 'access' | 'region' | 'awsEndpoint'>, db: DatabaseClient): Promise<Access> {
  const { access } = config;
  const needsSecret = access.mode !== 'none' && access.readAccess === 'authenticated';
  let secret = access.thumbnailUrlSecret;
  if (needsSecret && secret === undefined && access.thumbnailUrlSecretParameter !== undefined) {
    secret = await readSecureParameter(config, access.thumbnailUrlSecretParameter);
  }
  return createAccess(access, { apiKeys: createApiKeysRepository(db), thumbnailUrlSecret: secret });
}

function linkSigner(config: AccessConfig, secret: string | undefined): ThumbnailLinkSigner {
  if (secret === undefined) {
    const where = config.thumbnailUrlSecretParameter ? `the SSM parameter ${config.thumbnailUrlSecretParameter} (missing or empty)` : 'THUMBNAIL_URL_SECRET';
    throw new ConfigError(`READ_ACCESS=authenticated signs thumbnail URLs with a secret: set ${where}, e.g. openssl rand -base64 32`);
  }
  return createThumbnailLinkSigner({ secret, ttlSeconds: config.thumbnailUrlTtlSeconds });
}

function credentialCheck(config: AccessConfig, deps: AccessDeps): (event: APIGatewayProxyEventV2) => Promise<void> {
  if (config.mode === 'jwt') {
    const jwt = config.jwt;
    if (jwt === undefined) throw new ConfigError('AUTH_MODE=jwt needs JWT_ISSUER and JWT_AUDIENCE');
    // Fetched on first use and cached, refetched when a token names an unknown key.
    const keys = createRemoteJWKSet(new URL(jwt.jwksUrl));
    return async (event) => {
      const token = bearerToken(event);
      if (token === undefined) throw new UnauthorizedError(MISSING_OR_INVALID_TOKEN);
      try {
        await jwtVerify(token, keys, { issuer: jwt.issuer, audience: jwt.audience, clockTolerance: 30 });
      } catch {
        throw new UnauthorizedError(MISSING_OR_INVALID_TOKEN);
      }
    };
  }
  return async (event) => {
    const key = bearerToken(event) ?? header(event, 'x-api-key')?.trim();
    if (!key || (await verifyApiKey(deps.apiKeys, key)) === null) throw new UnauthorizedError(MISSING_OR_INVALID_KEY);
  };
}

function bearerToken(event: APIGatewayProxyEventV2): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header(event, 'authorization') ?? '');
  return match?.[1];
}

/** API Gateway and serverless-offline pass header names lower-cased; a direct invoke may not. */
function header(event: APIGatewayProxyEventV2, name: string): string | undefined {
  for (const [key, value] of Object.entries(event.headers ?? {})) {
    if (key.toLowerCase() === name) return value;
  }
  return undefined;
}
