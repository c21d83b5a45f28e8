// An SQS batch for the processor: records run concurrently (bounded), each
// through the pipeline. A record starts only while the invocation has time
// left for the longest image it may meet; the others are reported back for a
// later delivery instead of being cut off by the Lambda timeout half-way.
import type { SQSBatchResponse, SQSRecord } from 'aws-lambda';
import { runJob } from './pipeline.ts';
import type { PipelineDeps } from './pipeline.ts';
import { parseJobs } from './queue.ts';
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
    const jobs = parseJobs(record.body);
    // The s3:TestEvent S3 sends when the bucket's notification is configured: nothing to do.
    if (jobs.length === 0) deps.logger.info({ messageId: record.messageId }, 'queue message with no job (S3 test event); acknowledged');
    const receiveCount = Number(record.attributes.ApproximateReceiveCount) || 1;
    for (const job of jobs) await runJob(deps, job, { messageId: record.messageId, receiveCount, maxReceiveCount: options.maxReceiveCount });
  });
}
