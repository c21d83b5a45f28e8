// One SQS batch, record by record: the records that should be delivered again
// are reported as batchItemFailures, which is how an event source with
// ReportBatchItemFailures retries only them. A message that can never be
// handled (PermanentProcessingError) is dropped, not retried.
import pLimit from 'p-limit';
import type { SQSBatchResponse, SQSRecord } from 'aws-lambda';
import { PermanentProcessingError } from './errors.ts';
import type { Logger } from './log.ts';

export async function handleRecords(
  records: SQSRecord[],
  options: { concurrency: number; logger: Logger },
  handle: (record: SQSRecord) => Promise<void>,
): Promise<SQSBatchResponse> {
  const limit = pLimit(options.concurrency);
  const failures: SQSBatchResponse['batchItemFailures'] = [];
  await Promise.all(
    records.map((record) =>
      limit(async () => {
        try {
          await handle(record);
        } catch (error) {
          if (error instanceof PermanentProcessingError) {
            options.logger.error({ err: error, messageId: record.messageId }, 'unprocessable message dropped');
            return;
          }
          failures.push({ itemIdentifier: record.messageId });
        }
      }),
    ),
  );
  return { batchItemFailures: failures };
}
