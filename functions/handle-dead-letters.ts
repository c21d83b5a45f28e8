// Dead-letter queue -> the images whose jobs ran out of deliveries end `failed`.
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { lambdaRuntime } from '../lib/deps.ts';
import { settleDeadLetters } from '../lib/dead-letters.ts';

const { config, deps } = lambdaRuntime('handle-dead-letters');

export const handler = async (event: SQSEvent): Promise<SQSBatchResponse> => {
  const { lifecycle, queue, logger } = await deps();
  return settleDeadLetters({ lifecycle, queue, logger, maxReceiveCount: config.maxReceiveCount }, event.Records);
};
