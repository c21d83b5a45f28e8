// An SQS batch for the processor: records run concurrently (bounded), each
// through the pipeline.
import type { SQSBatchResponse, SQSRecord } from 'aws-lambda';
import { runJob } from './pipeline.ts';
import type { PipelineDeps } from './pipeline.ts';
import { parseJob } from './queue.ts';
import { handleRecords } from './sqs-batch.ts';

export interface BatchOptions {
  concurrency: number;
  maxReceiveCount: number;
}

export function processJobBatch(deps: PipelineDeps, records: SQSRecord[], options: BatchOptions): Promise<SQSBatchResponse> {
  return handleRecords(records, { concurrency: options.concurrency, logger: deps.logger }, async (record) => {
    const job = parseJob(record.body);
    const receiveCount = Number(record.attributes.ApproximateReceiveCount) || 1;
    await runJob(deps, job, { receiveCount, maxReceiveCount: options.maxReceiveCount });
  });
}
