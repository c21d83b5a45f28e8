// Messages that ran out of deliveries end in the dead-letter queue. Whatever
// stopped them (a crash, a timeout, an error on the last try), their image
// must not stay `processing`: the row is marked failed with the last error
// seen. A caption job that ran out only gives up on the caption.
import type { SQSBatchResponse, SQSRecord } from 'aws-lambda';
import type { ImagesRepository } from './db/images-repository.ts';
import type { Logger } from './log.ts';
import { parseJob } from './queue.ts';
import { handleRecords } from './sqs-batch.ts';

export interface DeadLetterDeps {
  images: ImagesRepository;
  logger: Logger;
  maxReceiveCount: number;
}

export function settleDeadLetters(deps: DeadLetterDeps, records: SQSRecord[]): Promise<SQSBatchResponse> {
  return handleRecords(records, { concurrency: 1, logger: deps.logger }, async (record) => {
    const job = parseJob(record.body);
    const now = new Date().toISOString();
    const log = deps.logger.child({ imageId: job.imageId });
    if (job.kind === 'caption') {
      await deps.images.updateCaption(job.imageId, { caption: null, captionStatus: 'failed', captionError: 'Caption retries ran out', now });
      log.warn('caption job dead-lettered; caption marked failed');
      return;
    }
    const row = await deps.images.find(job.imageId);
    const reason = `Processing failed after ${deps.maxReceiveCount} attempts: ${row?.error ?? 'the processor did not finish (crash or timeout)'}`;
    const marked = await deps.images.markFailed(job.imageId, reason, null, now);
    log.warn({ marked, reason }, 'job dead-lettered');
  });
}
