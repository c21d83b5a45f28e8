// An SQS batch for the processor: records run concurrently (bounded), each
// through the pipeline. A record starts only while the invocation has time
// left for the longest image it may meet; the others are reported back for a
// later delivery instead of being cut off by the Lambda timeout half-way.
import type { SQSBatchResponse, SQSRecord } from 'aws-lambda';
import { runJob } from './pipeline.ts';
import type { PipelineDeps } from './pipeline.ts';
import { parseJob } from './queue.ts';
import { handleRecords } from './sqs-batch.ts';

export interface BatchOptions {
  concurrency: number;
  maxReceiveCount: number;
  /** Milliseconds left in the invocation (the Lambda context's getRemainingTimeInMillis). */
  remainingTimeMs?: () => number;
  /** The longest one image may take, caption included. */
  longestImageMs?: number;
}

export function processJobBatch(deps: PipelineDeps, records: SQSRecord[], options: BatchOptions): Promise<SQSBatchResponse> {
  const { remainingTimeMs, longestImageMs } = options;
  const canStart = remainingTimeMs && longestImageMs !== undefined ? () => remainingTimeMs() >= longestImageMs : undefined;
  return handleRecords(records, { concurrency: options.concurrency, logger: deps.logger, ...(canStart ? { canStart } : {}) }, async (record) => {
    const job = parseJob(record.body);
    const receiveCount = Number(record.attributes.ApproximateReceiveCount) || 1;
    await runJob(deps, job, { messageId: record.messageId, receiveCount, maxReceiveCount: options.maxReceiveCount });
  });
}
