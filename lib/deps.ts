// Builds the clients once per cold start, from configuration, on top of the
// database of lib/runtime.ts: storage and the job queue for the functions
// that call S3 and SQS, and the captioner for the processor. Handlers ask for
// them here; lib/ functions receive them as arguments.
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { captionConfigWithToken } from './config.ts';
import type { CaptionConfig, Config } from './config.ts';
import { createImageLifecycle } from './image-lifecycle.ts';
import type { ImageLifecycle } from './image-lifecycle.ts';
import type { Captioner } from './images/caption.ts';
import type { Logger } from './log.ts';
import { createJobQueue } from './queue.ts';
import type { JobQueue } from './queue.ts';
import { createDatabaseDeps, lambdaRuntime as runtimeWith } from './runtime.ts';
import type { DatabaseDeps, LambdaRuntime } from './runtime.ts';
import { createImageStorage } from './storage.ts';
import type { ImageStorage } from './storage.ts';

export interface ServiceDeps extends DatabaseDeps {
  lifecycle: ImageLifecycle;
  storage: ImageStorage;
  queue: JobQueue;
}

export interface Deps extends ServiceDeps {
  captioner: Captioner | null;
}

/**
 * Every S3 and SQS call ends within maxAttempts x requestTimeout (plus a
 * short backoff), so a stalled service ends in the upload's 503 and rollback,
 * never in a Lambda timeout that leaves half a job: test/deploy checks the
 * upload function's timeout against SDK_CALL_BUDGET_MS. requestTimeout bounds
 * a whole attempt only with throwOnRequestTimeout (without it the SDK merely
 * logs a warning); socketTimeout ends a silent connection sooner.
 */
export const SDK_TIMEOUTS = { connectionTimeoutMs: 1_000, requestTimeoutMs: 3_000, socketTimeoutMs: 3_000, maxAttempts: 2 } as const;
/** The longest one SDK call can take, retries and backoff (at most about a second here) included. */
export const SDK_CALL_BUDGET_MS = SDK_TIMEOUTS.maxAttempts * SDK_TIMEOUTS.requestTimeoutMs + 1_000;

export function createAwsClients(config: Pick<Config, 'region' | 'awsEndpoint'>): { s3: S3Client; sqs: SQSClient } {
  // Emulators take any credentials; on AWS the SDK uses the function's role.
  const local = config.awsEndpoint
    ? { endpoint: config.awsEndpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } }
    : {};
  const requestHandler = {
    connectionTimeout: SDK_TIMEOUTS.connectionTimeoutMs,
    requestTimeout: SDK_TIMEOUTS.requestTimeoutMs,
    throwOnRequestTimeout: true,
    socketTimeout: SDK_TIMEOUTS.socketTimeoutMs,
  };
  const common = { region: config.region, requestHandler, maxAttempts: SDK_TIMEOUTS.maxAttempts, ...local };
  return {
    s3: new S3Client({ ...common, forcePathStyle: Boolean(config.awsEndpoint) }),
    sqs: new SQSClient(common),
  };
}

/**
 * On AWS the Hugging Face token is a SecureString in SSM Parameter Store
 * (HF_TOKEN_PARAMETER, set for the processor only), read once per cold start;
 * HF_TOKEN, when set, wins. The client is imported only here, so the other
 * functions do not load it. A parameter that does not exist means captions
 * are off, rather than every image failing; any other error (no permission,
 * throttling) fails the cold start, and the batch is retried.
 */
async function captionSettings(config: Config, logger: Logger): Promise<CaptionConfig> {
  const { caption, hfTokenParameter } = config;
  const hasToken = caption.mode === 'hosted' || (caption.mode === 'endpoint' && caption.token !== undefined);
  if (hfTokenParameter === undefined || hasToken) return caption;
  const { GetParameterCommand, ParameterNotFound, SSMClient } = await import('@aws-sdk/client-ssm');
  const local = config.awsEndpoint
    ? { endpoint: config.awsEndpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } }
    : {};
  const ssm = new SSMClient({ region: config.region, ...local });
  try {
    const result = await ssm.send(new GetParameterCommand({ Name: hfTokenParameter, WithDecryption: true }));
    const token = result.Parameter?.Value?.trim();
    if (!token) {
      logger.warn({ parameter: hfTokenParameter }, 'captions off: the Hugging Face token parameter is empty');
      return caption;
    }
    return captionConfigWithToken(token);
  } catch (error) {
    if (!(error instanceof ParameterNotFound)) throw error;
    logger.warn({ parameter: hfTokenParameter }, 'captions off: the Hugging Face token parameter does not exist');
    return caption;
  } finally {
    ssm.destroy();
  }
}

/** The database, storage and the job queue: no caption client, so a function that never captions does not load it. */
export async function createServiceDeps(config: Config, logger: Logger): Promise<ServiceDeps> {
  const { s3, sqs } = createAwsClients(config);
  const { db, images } = await createDatabaseDeps(config, logger);
  return {
    config,
    logger,
    db,
    images,
    lifecycle: createImageLifecycle(images, { leaseSeconds: config.queueVisibilityTimeoutSeconds, uploadGraceSeconds: config.directUpload.expiryGraceSeconds }),
    storage: createImageStorage(s3, config.bucketName),
    queue: createJobQueue(sqs, config.queueUrl),
  };
}

/**
 * Everything, the captioner included. The caption client, a large module, is
 * imported only when captions are on: a function built with this that never
 * captions does not load it.
 */
export async function createDeps(config: Config, logger: Logger): Promise<Deps> {
  const caption = await captionSettings(config, logger);
  const service = await createServiceDeps(config, logger);
  if (caption.mode === 'off') return { ...service, captioner: null };
  const { createCaptioner } = await import('./images/caption.ts');
  return { ...service, captioner: createCaptioner(caption) };
}

/** The runtime (lib/runtime.ts) of a function that uses everything. */
export function lambdaRuntime(name: string): LambdaRuntime<Deps> {
  return runtimeWith(name, createDeps);
}
