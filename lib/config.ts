// The only module that reads process.env. Everything else receives a Config.
import { ConfigError } from './errors.ts';

export type CaptionConfig =
  | { mode: 'off' }
  | { mode: 'hosted'; token: string; model: string; timeoutMs: number }
  | { mode: 'endpoint'; endpointUrl: string; token: string | undefined; timeoutMs: number };

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
  /**
   * SSM Parameter Store name (a SecureString, full path) of the Hugging Face
   * token, so that on AWS the token is not in the template. deps.ts reads it at
   * cold start unless HF_TOKEN is set.
   */
  hfTokenParameter: string | undefined;
  /** Overrides the scheme://host[/stage] used in thumbnail URLs (custom domains). */
  publicBaseUrl: string | undefined;
  maxUploadBytes: number;
  maxInputPixels: number;
  /** Records of one SQS batch processed at once. */
  processingConcurrency: number;
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
    hfTokenParameter: ssmParameterName(env, 'HF_TOKEN_PARAMETER'),
    publicBaseUrl: optional(env, 'PUBLIC_BASE_URL')?.replace(/\/+$/, ''),
    maxUploadBytes: integer(env, 'MAX_UPLOAD_BYTES', 10 * 1024 * 1024),
    maxInputPixels: integer(env, 'MAX_INPUT_PIXELS', 100_000_000),
    processingConcurrency: integer(env, 'PROCESSING_CONCURRENCY', 4),
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
function databaseUrl(env: Env): string {
  const url = required(env, 'LIBSQL_URL');
  const onLambda = optional(env, 'AWS_LAMBDA_FUNCTION_NAME') !== undefined && optional(env, 'IS_OFFLINE') === undefined;
  if (onLambda && url.toLowerCase().startsWith('file:')) {
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

function captionConfig(env: Env): CaptionConfig {
  const timeoutMs = integer(env, 'CAPTION_TIMEOUT_MS', 15_000);
  const token = optional(env, 'HF_TOKEN');
  const endpointUrl = optional(env, 'CAPTION_ENDPOINT_URL');
  if (endpointUrl) {
    try {
      new URL(endpointUrl);
    } catch {
      throw new ConfigError(`CAPTION_ENDPOINT_URL is not a URL: ${endpointUrl}`);
    }
    return { mode: 'endpoint', endpointUrl, token, timeoutMs };
  }
  if (token) {
    const model = optional(env, 'CAPTION_MODEL') ?? 'Salesforce/blip-image-captioning-large';
    return { mode: 'hosted', token, model, timeoutMs };
  }
  return { mode: 'off' };
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
