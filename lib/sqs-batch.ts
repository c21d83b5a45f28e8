// One SQS batch, record by record: the records that should be delivered again
// are reported as batchItemFailures, which is how an event source with
// ReportBatchItemFailures retries only them. A message that can never be
// handled (PermanentProcessingError) is dropped, not retried, with its body
// in the log.
import pLimit from 'p-limit';
import type { SQSBatchResponse, SQSRecord } from 'aws-lambda';
import { PermanentProcessingError } from './errors.ts';
import type { Logger } from './log.ts';

/** Enough of a message body for a person to recognise it, bounded so a huge one cannot flood the log. */
export const LOGGED_BODY_CHARS = 4_096;

export function loggedBody(record: SQSRecord): string {
  return record.body.length > LOGGED_BODY_CHARS ? `${record.body.slice(0, LOGGED_BODY_CHARS)}…` : record.body;
}

export interface RecordLoopOptions {
  concurrency: number;
  logger: Logger;
  /**
   * Asked before each record starts: when it answers false, the record is not
   * started and is reported for a later delivery (the invocation is running
   * out of time).
   */
  canStart?: () => boolean;
}

export async function handleRecords(records: SQSRecord[], options: RecordLoopOptions, handle: (record: SQSRecord) => Promise<void>): Promise<SQSBatchResponse> {
  const limit = pLimit(options.concurrency);
  const failures: SQSBatchResponse['batchItemFailures'] = [];
  await Promise.all(
    records.map((record) =>
      limit(async () => {
        if (options.canStart && !options.canStart()) {
          options.logger.warn({ messageId: record.messageId }, 'not enough time left in this invocation; record left for a later delivery');
          failures.push({ itemIdentifier: record.messageId });
          return;
        }
        try {
          await handle(record);
        } catch (error) {
          if (error instanceof PermanentProcessingError) {
            options.logger.error({ err: error, messageId: record.messageId, body: loggedBody(record) }, 'unprocessable message dropped');
            return;
          }
          failures.push({ itemIdentifier: record.messageId });
        }
      }),
    ),
  );
  return { batchItemFailures: failures };
}
