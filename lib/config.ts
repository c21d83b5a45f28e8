// The only module that reads process.env. Everything else receives a Config.
import { availableParallelism } from 'node:os';
import { ConfigError } from './errors.ts';

export type CaptionConfig =
  | { mode: 'off' }
  | { mode: 'hosted'; token: string; model: string; timeoutMs: number }
  | { mode: 'endpoint'; endpointUrl: string; token: string | undefined; timeoutMs: number };

export type AuthMode = 'none' | 'api-key' | 'jwt';
export type ReadAccess = 'public' | 'authenticated';

/** Who may call the API (lib/access.ts). */
export interface AccessConfig {
  mode: AuthMode;
  /** `public`: list, detail, thumbnails and stats need no credential; uploads always do once auth is on. */
  readAccess: ReadAccess;
  /** jwt mode: tokens must be signed by a key of the JWKS and name this issuer and audience. */
  jwt: { issuer: string; audience: string; jwksUrl: string } | undefined;
  /** HMAC key of the signed thumbnail URLs; on AWS read from SSM (thumbnailUrlSecretParameter) by lib/access.ts. */
  thumbnailUrlSecret: string | undefined;
  thumbnailUrlSecretParameter: string | undefined;
  thumbnailUrlTtlSeconds: number;
}

export interface Config {
  stage: string;
  region: string;
  /** Emulator endpoint for S3 and SQS; undefined on AWS. */
  awsEndpoint: string | undefined;
  bucketName: string;
  queueUrl: string;
  /** maxReceiveCount of the queue's redrive policy: the last delivery marks the row failed. */
  maxReceiveCount: number;
  databaseUrl: string;
  databaseAuthToken: string | undefined;
  /** SSM SecureString holding LIBSQL_AUTH_TOKEN on AWS, read by deps.ts at cold start unless the token is set. */
  databaseAuthTokenParameter: string | undefined;
  access: AccessConfig;
  /**
   * SSM Parameter Store name (a SecureString, full path) of the Hugging Face
   * token, so that on AWS the token is not in the template. deps.ts reads it at
   * cold start unless HF_TOKEN is set.
   */
  hfTokenParameter: string | undefined;
  /** Overrides the scheme://host[/stage] used in thumbnail URLs (custom domains). */
  publicBaseUrl: string | undefined;
  maxUploadBytes: number;
  directUpload: DirectUploadConfig;
  maxInputPixels: number;
  /**
   * Records of one SQS batch in flight at once. Each holds its original while
   * it waits for an image slot, and its thumbnail while it waits for the caption.
   */
  processingConcurrency: number;
  /** Decodes, resizes and encodes at once in one process (lib/work-slots.ts): the cores by default. */
  imageConcurrency: number;
  /** Caption calls at once in one process: they wait on the network, so more than the cores. */
  captionConcurrency: number;
  exifIncludeGps: boolean;
  caption: CaptionConfig;
  captionMaxAttempts: number;
  captionRetryDelaySeconds: number;
  /**
   * The job queue's visibility timeout (resources.json, passed by
   * serverless.yml): a delivery's lease on a row lasts this long, so a
   * redelivery after a crash finds it run out.
   */
  queueVisibilityTimeoutSeconds: number;
  /** The longest one image may take in the processor, caption included: no record starts with less time left. */
  maxImageSeconds: number;
  /** A job whose send was never confirmed this long is sent again by the sweeper; so is a pending caption with no retry scheduled. */
  staleQueuedSeconds: number;
  /** A row whose lease ran out this long ago with no delivery taking over is marked failed (transient) by the sweeper. */
  staleProcessingSeconds: number;
  logLevel: string;
  logFile: string | undefined;
  /** The log file is moved to <file>.1 past this size (local stacks only; Lambda logs to CloudWatch). */
  logFileMaxBytes: number;
}

/** POST /api/uploads: the client sends the file straight to S3 with a presigned POST (lib/direct-upload.ts). */
export interface DirectUploadConfig {
  /** Largest size a client may declare (MAX_DIRECT_UPLOAD_BYTES). */
  maxBytes: number;
  /** How long the presigned POST is valid (UPLOAD_URL_TTL_SECONDS). */
  urlTtlSeconds: number;
  /**
   * How long after that a row still waits for its object before the sweeper
   * removes it (UPLOAD_EXPIRY_GRACE_SECONDS): an upload that began before
   * the expiry may still be arriving.
   */
  expiryGraceSeconds: number;
  /** Where the POST goes when it is not S3 itself: the local upload gateway (S3_UPLOAD_ENDPOINT); undefined on AWS. */
  endpoint: string | undefined;
}

type Env = Record<string, string | undefined>;

export function loadConfig(env: Env = process.env): Config {
  const caption = captionConfig(env);
  return {
    stage: optional(env, 'STAGE') ?? 'local',
    region: optional(env, 'AWS_REGION') ?? 'us-east-1',
    awsEndpoint: optional(env, 'AWS_ENDPOINT_URL'),
    bucketName: required(env, 'BUCKET_NAME'),
    queueUrl: required(env, 'QUEUE_URL'),
    maxReceiveCount: integer(env, 'MAX_RECEIVE_COUNT', 3),
    databaseUrl: databaseUrl(env),
    databaseAuthToken: optional(env, 'LIBSQL_AUTH_TOKEN'),
    databaseAuthTokenParameter: ssmParameterName(env, 'LIBSQL_AUTH_TOKEN_PARAMETER'),
    access: accessConfig(env),
    hfTokenParameter: ssmParameterName(env, 'HF_TOKEN_PARAMETER'),
    publicBaseUrl: optional(env, 'PUBLIC_BASE_URL')?.replace(/\/+$/, ''),
    maxUploadBytes: integer(env, 'MAX_UPLOAD_BYTES', 10 * 1024 * 1024),
    directUpload: directUploadConfig(env),
    maxInputPixels: integer(env, 'MAX_INPUT_PIXELS', 100_000_000),
    processingConcurrency: integer(env, 'PROCESSING_CONCURRENCY', 10),
    imageConcurrency: integer(env, 'IMAGE_CONCURRENCY', availableParallelism()),
    captionConcurrency: integer(env, 'CAPTION_CONCURRENCY', 10),
    exifIncludeGps: boolean(env, 'EXIF_INCLUDE_GPS', false),
    caption,
    captionMaxAttempts: integer(env, 'CAPTION_MAX_ATTEMPTS', 4),
    captionRetryDelaySeconds: integer(env, 'CAPTION_RETRY_DELAY_SECONDS', 30),
    queueVisibilityTimeoutSeconds: integer(env, 'QUEUE_VISIBILITY_TIMEOUT_SECONDS', 370),
    maxImageSeconds: integer(env, 'MAX_IMAGE_SECONDS', 25),
    staleQueuedSeconds: integer(env, 'STALE_QUEUED_SECONDS', 900),
    staleProcessingSeconds: integer(env, 'STALE_PROCESSING_SECONDS', 3600),
    logLevel: optional(env, 'LOG_LEVEL') ?? 'info',
    logFile: optional(env, 'LOG_FILE'),
    logFileMaxBytes: integer(env, 'LOG_FILE_MAX_BYTES', 20 * 1024 * 1024),
  };
}

/** What an operator's script (npm run redrive) needs: the database and the job queue. */
export interface OperatorConfig {
  region: string;
  awsEndpoint: string | undefined;
  /** Undefined when the script should look the stage's queue up by name. */
  queueUrl: string | undefined;
  databaseUrl: string;
  databaseAuthToken: string | undefined;
  logLevel: string;
}

export function loadOperatorConfig(env: Env): OperatorConfig {
  return {
    region: optional(env, 'AWS_REGION') ?? 'us-east-1',
    awsEndpoint: optional(env, 'AWS_ENDPOINT_URL'),
    queueUrl: optional(env, 'QUEUE_URL'),
    databaseUrl: required(env, 'LIBSQL_URL'),
    databaseAuthToken: optional(env, 'LIBSQL_AUTH_TOKEN'),
    logLevel: optional(env, 'LOG_LEVEL') ?? 'info',
  };
}

/** What `npm run api-key` needs: the database, by default the one `npm start` uses. */
export function loadDatabaseToolConfig(env: Env, defaultDatabaseUrl: string): { databaseUrl: string; databaseAuthToken: string | undefined } {
  return { databaseUrl: optional(env, 'LIBSQL_URL') ?? defaultDatabaseUrl, databaseAuthToken: optional(env, 'LIBSQL_AUTH_TOKEN') };
}

/** The command-line client (cli/): which API, with which key, unless its flags say otherwise. */
export function loadCliConfig(env: Env): { apiUrl: string | undefined; apiKey: string | undefined } {
  // The flag or the environment: a key in a flag shows in `ps` and in the shell's history.
  return { apiUrl: optional(env, 'IMAGEPROCESSINGAPI_URL'), apiKey: optional(env, 'IMAGEPROCESSINGAPI_KEY') };
}

let cached: Config | undefined;

/** The process's configuration, validated on first use (cold start). */
export function getConfig(): Config {
  cached ??= loadConfig();
  return cached;
}

/** The caption settings once deps.ts has read the token from SSM (HF_TOKEN_PARAMETER). */
export function captionConfigWithToken(token: string, env: Env = process.env): CaptionConfig {
  return captionConfig({ ...env, HF_TOKEN: token });
}

/**
 * On AWS Lambda every instance has a disk of its own, so a `file:` database
 * would silently split the data between instances. serverless-offline sets
 * AWS_LAMBDA_FUNCTION_NAME too, with IS_OFFLINE, and there a file is fine.
 */
function onAwsLambda(env: Env): boolean {
  return optional(env, 'AWS_LAMBDA_FUNCTION_NAME') !== undefined && optional(env, 'IS_OFFLINE') === undefined;
}

function databaseUrl(env: Env): string {
  const url = required(env, 'LIBSQL_URL');
  if (onAwsLambda(env) && url.toLowerCase().startsWith('file:')) {
    throw new ConfigError(
      `LIBSQL_URL is a local file (${url}), which cannot be used on AWS Lambda: each instance has a disk of its own. ` +
        'Set LIBSQL_URL to a libSQL server (libsql://... or https://...) and LIBSQL_AUTH_TOKEN.',
    );
  }
  return url;
}

/** The IAM policy (serverless.yml) is built from the full path, so a bare name would be denied. */
function ssmParameterName(env: Env, name: string): string | undefined {
  const value = optional(env, name);
  if (value !== undefined && !value.startsWith('/')) {
    throw new ConfigError(`${name} must be the parameter's full path, starting with /, got "${value}"`);
  }
  return value;
}

// The secret signs URLs that grant a thumbnail: 32 bytes, as from `openssl rand -base64 32`.
const MIN_SECRET_LENGTH = 32;

/**
 * Deployed functions default to api-key even if the variable went missing:
 * an API left open by accident costs more than one refusing requests.
 */
function accessConfig(env: Env): AccessConfig {
  const mode = oneOf(env, 'AUTH_MODE', ['none', 'api-key', 'jwt'] as const, onAwsLambda(env) ? 'api-key' : 'none');
  const readAccess = oneOf(env, 'READ_ACCESS', ['public', 'authenticated'] as const, mode === 'none' ? 'public' : 'authenticated');
  if (mode === 'none' && readAccess === 'authenticated') {
    throw new ConfigError('READ_ACCESS=authenticated needs AUTH_MODE api-key or jwt: with AUTH_MODE=none nobody could read');
  }
  const thumbnailUrlSecret = optional(env, 'THUMBNAIL_URL_SECRET');
  if (thumbnailUrlSecret !== undefined && thumbnailUrlSecret.length < MIN_SECRET_LENGTH) {
    throw new ConfigError(`THUMBNAIL_URL_SECRET must be at least ${MIN_SECRET_LENGTH} characters (openssl rand -base64 32)`);
  }
  return {
    mode,
    readAccess,
    jwt: mode === 'jwt' ? jwtConfig(env) : undefined,
    thumbnailUrlSecret,
    thumbnailUrlSecretParameter: ssmParameterName(env, 'THUMBNAIL_URL_SECRET_PARAMETER'),
    thumbnailUrlTtlSeconds: integer(env, 'THUMBNAIL_URL_TTL_SECONDS', 3600),
  };
}

function jwtConfig(env: Env): { issuer: string; audience: string; jwksUrl: string } {
  const issuer = required(env, 'JWT_ISSUER');
  const audience = required(env, 'JWT_AUDIENCE');
  // Most OIDC issuers publish their keys here; others (Auth0, Cognito) name the URL in their discovery document.
  const jwksUrl = optional(env, 'JWT_JWKS_URL') ?? `${issuer.replace(/\/+$/, '')}/.well-known/jwks.json`;
  const parsed = parseUrl('JWT_JWKS_URL', jwksUrl);
  if (parsed.protocol !== 'https:' && !isLoopback(parsed)) {
    throw new ConfigError(`JWT_JWKS_URL must be https: (or a loopback address), got ${jwksUrl}`);
  }
  return { issuer, audience, jwksUrl };
}

// A presigned POST's policy may expire at most 7 days after it is signed (SigV4).
const MAX_UPLOAD_URL_TTL_SECONDS = 7 * 24 * 3600;

function directUploadConfig(env: Env): DirectUploadConfig {
  const urlTtlSeconds = integer(env, 'UPLOAD_URL_TTL_SECONDS', 900);
  if (urlTtlSeconds > MAX_UPLOAD_URL_TTL_SECONDS) {
    throw new ConfigError(`UPLOAD_URL_TTL_SECONDS must be at most ${MAX_UPLOAD_URL_TTL_SECONDS} (7 days), got ${urlTtlSeconds}`);
  }
  const endpoint = optional(env, 'S3_UPLOAD_ENDPOINT')?.replace(/\/+$/, '');
  if (endpoint !== undefined && !/^https?:$/.test(parseUrl('S3_UPLOAD_ENDPOINT', endpoint).protocol)) {
    throw new ConfigError(`S3_UPLOAD_ENDPOINT must be an http: or https: URL, got ${endpoint}`);
  }
  return {
    maxBytes: integer(env, 'MAX_DIRECT_UPLOAD_BYTES', 50 * 1024 * 1024),
    urlTtlSeconds,
    expiryGraceSeconds: integer(env, 'UPLOAD_EXPIRY_GRACE_SECONDS', 3600),
    endpoint,
  };
}

function captionConfig(env: Env): CaptionConfig {
  const timeoutMs = integer(env, 'CAPTION_TIMEOUT_MS', 15_000);
  const token = optional(env, 'HF_TOKEN');
  const endpointUrl = optional(env, 'CAPTION_ENDPOINT_URL');
  if (endpointUrl) {
    const url = parseUrl('CAPTION_ENDPOINT_URL', endpointUrl);
    // The image (and perhaps a token) would cross the network in the clear.
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopback(url))) {
      throw new ConfigError(`CAPTION_ENDPOINT_URL must be https: (http: only on a loopback address), got ${endpointUrl}`);
    }
    // A Hugging Face token opens the account it belongs to: it goes to Hugging
    // Face's own hosts only, unless the operator says this endpoint may have it.
    const sendToken = isHuggingFaceHost(url.hostname) || boolean(env, 'CAPTION_ENDPOINT_SEND_TOKEN', false);
    return { mode: 'endpoint', endpointUrl, token: sendToken ? token : undefined, timeoutMs };
  }
  if (token) {
    const model = optional(env, 'CAPTION_MODEL') ?? 'Salesforce/blip-image-captioning-large';
    return { mode: 'hosted', token, model, timeoutMs };
  }
  return { mode: 'off' };
}

function parseUrl(name: string, value: string): URL {
  try {
    return new URL(value);
  } catch {
    throw new ConfigError(`${name} is not a URL: ${value}`);
  }
}

function isLoopback(url: URL): boolean {
  const host = url.hostname.toLowerCase();
  return host === 'localhost' || host === '[::1]' || /^127(?:\.\d{1,3}){3}$/.test(host);
}

/** Hugging Face's API, router and Inference Endpoints hosts. */
export function isHuggingFaceHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, '');
  return ['huggingface.co', 'hf.co', 'huggingface.cloud', 'hf.space'].some((domain) => host === domain || host.endsWith(`.${domain}`));
}

function oneOf<T extends string>(env: Env, name: string, values: readonly T[], fallback: T): T {
  const raw = optional(env, name)?.toLowerCase();
  if (raw === undefined) return fallback;
  const found = values.find((value) => value === raw);
  if (found === undefined) throw new ConfigError(`Environment variable ${name} must be one of ${values.join(', ')}, got "${raw}"`);
  return found;
}

function optional(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

function required(env: Env, name: string): string {
  const value = optional(env, name);
  if (value === undefined) throw new ConfigError(`Missing required environment variable ${name}`);
  return value;
}

function integer(env: Env, name: string, fallback: number): number {
  const raw = optional(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new ConfigError(`Environment variable ${name} must be a positive integer, got "${raw}"`);
  }
  return value;
}

function boolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = optional(env, name)?.toLowerCase();
  if (raw === undefined) return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(`Environment variable ${name} must be true or false, got "${raw}"`);
}
