// Messages that ran out of deliveries end in the dead-letter queue. Whatever
// stopped them (a crash, a timeout, an outage on the last try), their image
// must not wait forever: the row is marked failed, as a transient failure
// that `npm run redrive` can run again. A caption job that ran out only gives
// up on the caption. A row some delivery still holds a live lease on is left
// to it: the message is retried later. A message that is not even a job is
// kept in the dead-letter queue for a person to look at, with its body in the
// log, and out of sight for 12 h so it does not come back every few seconds.
import type { SQSBatchResponse, SQSRecord } from 'aws-lambda';
import { PermanentProcessingError } from './errors.ts';
import type { ImageLifecycle } from './image-lifecycle.ts';
import type { Logger } from './log.ts';
import { parseJobs } from './queue.ts';
import type { JobQueue, ProcessImageJob } from './queue.ts';
import { handleRecords, loggedBody } from './sqs-batch.ts';

export interface DeadLetterDeps {
  lifecycle: ImageLifecycle;
  queue: JobQueue;
  logger: Logger;
  maxReceiveCount: number;
}

/** The longest SQS lets a received message stay hidden. */
export const PARKED_SECONDS = 43_200;

export function settleDeadLetters(deps: DeadLetterDeps, records: SQSRecord[]): Promise<SQSBatchResponse> {
  return handleRecords(records, { concurrency: 1, logger: deps.logger }, async (record) => {
    let jobs: ProcessImageJob[];
    try {
      jobs = parseJobs(record.body);
    } catch (error) {
      if (!(error instanceof PermanentProcessingError)) throw error;
      deps.logger.error({ err: error, messageId: record.messageId, body: loggedBody(record) }, 'dead letter is not a job; kept in the dead-letter queue');
      await deps.queue.postpone(record, PARKED_SECONDS).catch((park: unknown) => deps.logger.warn({ err: park, messageId: record.messageId }, 'dead letter could not be set aside'));
      throw error instanceof Error ? new Error(`kept: ${error.message}`) : error;
    }
    for (const job of jobs) await settleJob(deps, job);
  });
}

/**
 * A `landed` notification is settled like the job it stands for; a row it
 * never moved out of awaiting_upload is left to the sweeper, which finds its
 * object and lands it.
 */
async function settleJob(deps: DeadLetterDeps, job: ProcessImageJob): Promise<void> {
  const log = deps.logger.child({ imageId: job.imageId });
  if (job.kind === 'caption') {
    const result = await deps.lifecycle.giveUpCaption(job.imageId);
    if (result === 'leased') throw new Error('a caption attempt is still running; settled later');
    log.warn({ result }, 'caption job dead-lettered');
    return;
  }
  const result = await deps.lifecycle.settleDeadLetter(job.imageId, job.generation, deps.maxReceiveCount);
  if (result === 'leased') throw new Error('a delivery still holds the lease; settled later');
  log.warn({ result }, 'job dead-lettered');
}
