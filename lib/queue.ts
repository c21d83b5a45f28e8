// The jobs the upload and the processor send through SQS, and the bucket's
// event notifications for direct uploads, which arrive on the same queue
// (S3 on AWS, local/upload-gateway.ts locally) and are read here into jobs.
import { ChangeMessageVisibilityCommand, GetQueueUrlCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { PermanentProcessingError } from './errors.ts';
import { isImageId } from './image-id.ts';
import { uploadedImageId } from './storage.ts';

/**
 * `process`: the whole pipeline; `caption`: only the caption of a finished image, retried later;
 * `landed`: a direct upload's object is in the bucket (the bucket's notification), then the whole pipeline.
 */
export type JobKind = 'process' | 'caption' | 'landed';

export interface ProcessImageJob {
  imageId: string;
  kind: JobKind;
  /** The row's generation the job was sent for (lib/image-lifecycle.ts); absent in older messages. */
  generation?: number;
  /** `landed` only: the object as the notification reports it. */
  object?: LandedObject;
}

export interface LandedObject {
  key: string;
  sizeBytes: number;
}

/** A received message, as an SQS event record names it. */
export interface ReceivedMessage {
  eventSourceARN: string;
  receiptHandle: string;
}

export interface JobQueue {
  send(job: ProcessImageJob, options?: { delaySeconds?: number }): Promise<void>;
  /**
   * Keeps a received message of this queue or of a queue beside it (its
   * dead-letter queue) out of sight for `seconds` (at most 12 h).
   */
  postpone(message: ReceivedMessage, seconds: number): Promise<void>;
}

export function createJobQueue(sqs: SQSClient, queueUrl: string): JobQueue {
  return {
    async send(job, options) {
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: queueUrl,
          MessageBody: JSON.stringify(job),
          ...(options?.delaySeconds ? { DelaySeconds: Math.min(900, Math.round(options.delaySeconds)) } : {}),
        }),
      );
    },
    async postpone(message, seconds) {
      await sqs.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: siblingQueueUrl(queueUrl, message.eventSourceARN),
          ReceiptHandle: message.receiptHandle,
          VisibilityTimeout: Math.min(43_200, Math.round(seconds)),
        }),
      );
    },
  };
}

/**
 * The URL of the queue named by `arn`, which lives in the same account and
 * region as `queueUrl` (as a dead-letter queue must): only the last path
 * segment differs, on AWS and on the emulators alike.
 */
export function siblingQueueUrl(queueUrl: string, arn: string): string {
  const name = arn.split(':').pop() ?? '';
  return `${queueUrl.replace(/\/[^/]*$/, '')}/${name}`;
}

/** For operators' scripts that know the stage's queue name, not its URL. */
export async function queueUrlByName(sqs: SQSClient, name: string): Promise<string> {
  const result = await sqs.send(new GetQueueUrlCommand({ QueueName: name }));
  if (!result.QueueUrl) throw new Error(`queue ${name} not found`);
  return result.QueueUrl;
}

/** A message that must hold exactly one job (ours, or a notification of one object). */
export function parseJob(body: string): ProcessImageJob {
  const jobs = parseJobs(body);
  const [job] = jobs;
  if (jobs.length !== 1 || job === undefined) throw new PermanentProcessingError(`Queue message holds ${jobs.length} jobs, not one`);
  return job;
}

/**
 * The jobs of one queue message: our own job message, or an S3 event
 * notification (one job per object created; S3 sends one record per message
 * in practice). The s3:TestEvent S3 sends when the notification is configured
 * holds none: acknowledged and ignored. A malformed message can never succeed:
 * it is a permanent error, not a retry.
 */
export function parseJobs(body: string): ProcessImageJob[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new PermanentProcessingError('Queue message is not JSON');
  }
  if (isRecord(parsed) && parsed.Event === 's3:TestEvent') return [];
  if (isRecord(parsed) && Array.isArray(parsed.Records)) return parsed.Records.flatMap(landedJob);
  return [ownJob(parsed)];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** One record of an S3 event notification; records of other events (none are configured) give no job. */
function landedJob(record: unknown): ProcessImageJob[] {
  if (!isRecord(record) || record.eventSource !== 'aws:s3' || typeof record.eventName !== 'string') {
    throw new PermanentProcessingError('Queue message has a record that is not an S3 event');
  }
  if (!record.eventName.startsWith('ObjectCreated:')) return [];
  const object = isRecord(record.s3) && isRecord(record.s3.object) ? record.s3.object : {};
  const { key: rawKey, size } = object;
  if (typeof rawKey !== 'string') throw new PermanentProcessingError('S3 event record has no object key');
  let key: string;
  try {
    // Keys in event notifications are URL-encoded, with spaces as "+".
    key = decodeURIComponent(rawKey.replace(/\+/g, ' '));
  } catch {
    throw new PermanentProcessingError(`S3 event record has a malformed object key: ${rawKey.slice(0, 200)}`);
  }
  const imageId = uploadedImageId(key);
  if (imageId === null || !isImageId(imageId)) throw new PermanentProcessingError(`S3 event for an object that is not a direct upload: ${key.slice(0, 200)}`);
  const sizeBytes = typeof size === 'number' && Number.isSafeInteger(size) && size >= 0 ? size : -1;
  return [{ imageId, kind: 'landed', object: { key, sizeBytes } }];
}

function ownJob(parsed: unknown): ProcessImageJob {
  const { imageId, kind, generation } = (parsed ?? {}) as { imageId?: unknown; kind?: unknown; generation?: unknown };
  if (typeof imageId !== 'string' || !isImageId(imageId)) {
    throw new PermanentProcessingError('Queue message has no valid imageId');
  }
  if (kind !== undefined && kind !== 'process' && kind !== 'caption') {
    throw new PermanentProcessingError(`Queue message has an unknown kind: ${String(kind)}`);
  }
  if (generation !== undefined && !(typeof generation === 'number' && Number.isSafeInteger(generation) && generation > 0)) {
    throw new PermanentProcessingError(`Queue message has an invalid generation: ${String(generation)}`);
  }
  return { imageId, kind: kind ?? 'process', ...(generation === undefined ? {} : { generation }) };
}
