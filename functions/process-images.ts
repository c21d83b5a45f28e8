// SQS -> thumbnails, metadata, EXIF and caption for each record of the batch.
import type { SQSEvent, SQSBatchResponse } from 'aws-lambda';
import { lambdaRuntime } from '../lib/deps.ts';
import { processJobBatch } from '../lib/process-batch.ts';

const { config, deps } = lambdaRuntime('process-images');

export const handler = async (event: SQSEvent): Promise<SQSBatchResponse> => {
  const { images, storage, captioner, logger } = await deps();
  return processJobBatch(
    { images, storage, captioner, logger, maxInputPixels: config.maxInputPixels, exifIncludeGps: config.exifIncludeGps },
    event.Records,
    { concurrency: config.processingConcurrency, maxReceiveCount: config.maxReceiveCount },
  );
};
