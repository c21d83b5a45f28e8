// The processing job: what the upload tells the processor through SQS.
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { PermanentProcessingError } from './errors.ts';

export interface ProcessImageJob {
  imageId: string;
}

export interface JobQueue {
  send(job: ProcessImageJob): Promise<void>;
}

export function createJobQueue(sqs: SQSClient, queueUrl: string): JobQueue {
  return {
    async send(job) {
      await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(job) }));
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
  const imageId = (parsed as { imageId?: unknown } | null)?.imageId;
  if (typeof imageId !== 'string' || !isImageId(imageId)) {
    throw new PermanentProcessingError('Queue message has no valid imageId');
  }
  return { imageId };
}
