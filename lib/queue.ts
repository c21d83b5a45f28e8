// The jobs the upload and the processor send through SQS.
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { PermanentProcessingError } from './errors.ts';

/** `process`: the whole pipeline; `caption`: only the caption of a finished image, retried later. */
export type JobKind = 'process' | 'caption';

export interface ProcessImageJob {
  imageId: string;
  kind: JobKind;
}

export interface JobQueue {
  send(job: ProcessImageJob, options?: { delaySeconds?: number }): Promise<void>;
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
  };
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
  const { imageId, kind } = (parsed ?? {}) as { imageId?: unknown; kind?: unknown };
  if (typeof imageId !== 'string' || !isImageId(imageId)) {
    throw new PermanentProcessingError('Queue message has no valid imageId');
  }
  if (kind !== undefined && kind !== 'process' && kind !== 'caption') {
    throw new PermanentProcessingError(`Queue message has an unknown kind: ${String(kind)}`);
  }
  return { imageId, kind: kind ?? 'process' };
}
