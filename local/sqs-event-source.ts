// Delivers SQS messages to the processor Lambda the way AWS's event source
// mapping does. Written here rather than taken from serverless-offline-sqs
// because that plugin deletes every record of a batch whose handler returned,
// ignoring `batchItemFailures`, fires seconds after a send, and runs on the
// end-of-life AWS SDK v2. This one long-polls with SDK v3, invokes through
// serverless-offline's Lambda endpoint, deletes only the records the function
// did not report as failed, and deletes nothing when the invocation itself
// errors: those messages come back after the visibility timeout and, after
// maxReceiveCount receives, the queue's redrive moves them to the DLQ.
import { DeleteMessageBatchCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { Message, SQSClient } from '@aws-sdk/client-sqs';
import { InvokeCommand } from '@aws-sdk/client-lambda';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import type { SQSBatchResponse, SQSEvent, SQSMessageAttributes, SQSRecord } from 'aws-lambda';

export interface EventSourceOptions {
  sqs: SQSClient;
  lambda: LambdaClient;
  queueUrl: string;
  queueArn: string;
  region: string;
  functionName: string;
  batchSize?: number;
  /** Long-poll wait; an aborted poll may still take messages at the emulator until it ends. */
  waitTimeSeconds?: number;
  /** Concurrent pollers, each with at most one invocation in flight (AWS starts with five). */
  pollers?: number;
  onError?: (error: unknown) => void;
}

export interface EventSource {
  stop(): Promise<void>;
}

export function startSqsEventSource(options: EventSourceOptions): EventSource {
  const abort = new AbortController();
  const loops = Array.from({ length: options.pollers ?? 2 }, () => pollLoop(options, abort.signal));
  return {
    async stop() {
      abort.abort();
      await Promise.allSettled(loops);
    },
  };
}

async function pollLoop(options: EventSourceOptions, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    try {
      const received = await options.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: options.queueUrl,
          MaxNumberOfMessages: options.batchSize ?? 10,
          WaitTimeSeconds: options.waitTimeSeconds ?? 20,
          MessageSystemAttributeNames: ['All'],
          MessageAttributeNames: ['All'],
        }),
        { abortSignal: signal },
      );
      const messages = received.Messages ?? [];
      if (messages.length > 0) await deliver(options, messages, signal);
    } catch (error) {
      if (signal.aborted) return;
      options.onError?.(error);
      // The emulator restarting or the Lambda endpoint not up yet: back off briefly.
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

/**
 * Stopping aborts an invocation in flight: nothing is deleted, so its messages
 * come back after the visibility timeout, as after a Lambda that was cut off.
 */
async function deliver(options: EventSourceOptions, messages: Message[], signal: AbortSignal): Promise<void> {
  const event: SQSEvent = { Records: messages.map((message) => toRecord(message, options)) };
  const result = await options.lambda.send(
    new InvokeCommand({ FunctionName: options.functionName, Payload: Buffer.from(JSON.stringify(event)) }),
    { abortSignal: signal },
  );
  if (result.FunctionError) {
    options.onError?.(new Error(`processor failed: ${result.Payload ? Buffer.from(result.Payload).toString('utf8') : result.FunctionError}`));
    return;
  }
  const failed = failedIds(result.Payload, event.Records);
  const done = event.Records.filter((record) => !failed.has(record.messageId));
  if (done.length === 0) return;
  await options.sqs.send(
    new DeleteMessageBatchCommand({
      QueueUrl: options.queueUrl,
      Entries: done.map((record, index) => ({ Id: String(index), ReceiptHandle: record.receiptHandle })),
    }),
  );
}

/**
 * As on AWS: an answer naming an identifier that is not in the batch (or a
 * malformed answer) counts as the whole batch failing.
 */
function failedIds(payload: Uint8Array | undefined, records: SQSRecord[]): Set<string> {
  const all = new Set(records.map((record) => record.messageId));
  if (!payload || payload.length === 0) return new Set();
  let response: Partial<SQSBatchResponse> | null;
  try {
    response = JSON.parse(Buffer.from(payload).toString('utf8')) as Partial<SQSBatchResponse> | null;
  } catch {
    return all;
  }
  const failures = response?.batchItemFailures;
  if (failures === undefined || failures === null) return new Set();
  if (!Array.isArray(failures)) return all;
  const ids = new Set<string>();
  for (const failure of failures) {
    const id = failure?.itemIdentifier;
    if (typeof id !== 'string' || !all.has(id)) return all;
    ids.add(id);
  }
  return ids;
}

function toRecord(message: Message, options: EventSourceOptions): SQSRecord {
  const attributes = message.Attributes ?? {};
  const messageAttributes: SQSMessageAttributes = {};
  for (const [name, value] of Object.entries(message.MessageAttributes ?? {})) {
    messageAttributes[name] = {
      dataType: value.DataType ?? 'String',
      ...(value.StringValue !== undefined ? { stringValue: value.StringValue } : {}),
      ...(value.BinaryValue !== undefined ? { binaryValue: Buffer.from(value.BinaryValue).toString('base64') } : {}),
      stringListValues: value.StringListValues ?? [],
      binaryListValues: (value.BinaryListValues ?? []).map((item) => Buffer.from(item).toString('base64')),
    };
  }
  return {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes: {
      ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? '1',
      SentTimestamp: attributes.SentTimestamp ?? String(Date.now()),
      SenderId: attributes.SenderId ?? 'local',
      ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
    },
    messageAttributes,
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: options.queueArn,
    awsRegion: options.region,
  };
}
