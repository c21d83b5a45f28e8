// An SQS batch for the processor: records run concurrently (bounded), and the
// ones that should be delivered again are reported as batchItemFailures, which
// is how an SQS event source with ReportBatchItemFailures retries only them.
import pLimit from 'p-limit';
import type { SQSBatchResponse, SQSRecord } from 'aws-lambda';
import { PermanentProcessingError } from './errors.ts';
import { runJob } from './pipeline.ts';
import type { PipelineDeps } from './pipeline.ts';
import { parseJob } from './queue.ts';

export interface BatchOptions {
  concurrency: number;
  maxReceiveCount: number;
}

export async function processJobBatch(deps: PipelineDeps, records: SQSRecord[], options: BatchOptions): Promise<SQSBatchResponse> {
  const limit = pLimit(options.concurrency);
  const failures: SQSBatchResponse['batchItemFailures'] = [];
  await Promise.all(
    records.map((record) =>
      limit(async () => {
        try {
          const job = parseJob(record.body);
          const receiveCount = Number(record.attributes.ApproximateReceiveCount) || 1;
          await runJob(deps, job, { receiveCount, maxReceiveCount: options.maxReceiveCount });
        } catch (error) {
          if (error instanceof PermanentProcessingError) {
            // A message that can never be processed is dropped, not retried.
            deps.logger.error({ err: error, messageId: record.messageId }, 'unprocessable message dropped');
            return;
          }
          failures.push({ itemIdentifier: record.messageId });
        }
      }),
    ),
  );
  return { batchItemFailures: failures };
}
