// Resource names and queue settings, derived from resources.json: the same
// file serverless.yml and the LocalStack init scripts read.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

export const PROJECT_ROOT = resolve(import.meta.dirname, '..');

export interface ResourceSettings {
  service: string;
  bucketSuffix: string;
  queueSuffix: string;
  deadLetterQueueSuffix: string;
  maxReceiveCount: number;
  processorTimeoutSeconds: number;
  visibilityTimeoutSeconds: number;
  deadLetterRetentionSeconds: number;
  queueRetentionSeconds: number;
  emulatorPort: number;
  emulatorAccountId: string;
  httpPort: number;
  lambdaPort: number;
  /** The local upload gateway that presigned POSTs point at (local/upload-gateway.ts). */
  uploadPort: number;
  /** Port of the libSQL server in docker-compose.yml. */
  libsqlPort: number;
  /** Lambda CPU (serverless.yml provider.architecture): x86_64 or arm64. */
  lambdaArchitecture: string;
  /** HTTP API stage throttling on AWS (requests per second, burst): the whole API, and uploads alone. */
  httpApiThrottling: { rateLimit: number; burstLimit: number; uploadRateLimit: number; uploadBurstLimit: number };
}

export const RESOURCES = JSON.parse(readFileSync(resolve(PROJECT_ROOT, 'resources.json'), 'utf8')) as ResourceSettings;

export interface StageNames {
  bucket: string;
  queue: string;
  deadLetterQueue: string;
  queueUrl: string;
  deadLetterQueueUrl: string;
  processorFunction: string;
  deadLetterFunction: string;
}

export function stageNames(stage: string, endpoint = `http://127.0.0.1:${RESOURCES.emulatorPort}`): StageNames {
  const prefix = `${RESOURCES.service}-${stage}`;
  const queue = `${prefix}-${RESOURCES.queueSuffix}`;
  const deadLetterQueue = `${prefix}-${RESOURCES.deadLetterQueueSuffix}`;
  return {
    bucket: `${prefix}-${RESOURCES.bucketSuffix}`,
    queue,
    deadLetterQueue,
    queueUrl: `${endpoint}/${RESOURCES.emulatorAccountId}/${queue}`,
    deadLetterQueueUrl: `${endpoint}/${RESOURCES.emulatorAccountId}/${deadLetterQueue}`,
    processorFunction: `${prefix}-processImages`,
    deadLetterFunction: `${prefix}-handleDeadLetters`,
  };
}

export interface EmulatorInit {
  queues: Array<{ name: string; attributes: Record<string, string> }>;
  buckets: string[];
}

/**
 * The bucket, queue and dead-letter queue (with its redrive) of a stage, in the
 * init format of fauxqs: the embedded emulator applies it at start, and the
 * Docker profile's init file is generated from it.
 */
export function emulatorInit(names: StageNames, options: { region: string; visibilityTimeoutSeconds?: number }): EmulatorInit {
  return {
    queues: [
      {
        name: names.deadLetterQueue,
        attributes: {
          MessageRetentionPeriod: String(RESOURCES.deadLetterRetentionSeconds),
          // The tests' short visibility timeout applies here too, so a dead letter that met an
          // outage is settled again within seconds; otherwise SQS's default (30 s), as on AWS.
          ...(options.visibilityTimeoutSeconds === undefined ? {} : { VisibilityTimeout: String(options.visibilityTimeoutSeconds) }),
        },
      },
      {
        name: names.queue,
        attributes: {
          VisibilityTimeout: String(options.visibilityTimeoutSeconds ?? RESOURCES.visibilityTimeoutSeconds),
          MessageRetentionPeriod: String(RESOURCES.queueRetentionSeconds),
          RedrivePolicy: JSON.stringify({
            deadLetterTargetArn: `arn:aws:sqs:${options.region}:${RESOURCES.emulatorAccountId}:${names.deadLetterQueue}`,
            maxReceiveCount: String(RESOURCES.maxReceiveCount),
          }),
        },
      },
    ],
    buckets: [names.bucket],
  };
}
