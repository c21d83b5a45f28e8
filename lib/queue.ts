// The jobs the upload and the processor send through SQS.
import { ChangeMessageVisibilityCommand, GetQueueUrlCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { PermanentProcessingError } from './errors.ts';

/** `process`: the whole pipeline; `caption`: only the caption of a finished image, retried later. */
export type JobKind = 'process' | 'caption';

export interface ProcessImageJob {
  imageId: string;
  kind: JobKind;
  /** The row's generation the job was sent for (lib/image-lifecycle.ts); absent in older messages. */
  generation?: number;
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

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isImageId(value: string): boolean {
  return UUID.test(value);
}

/** A malformed message can never succeed: it is a permanent error, not a retry. */
export function parseJob(body: string): ProcessImageJob {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new PermanentProcessingError('Queue message is not JSON');
  }
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
