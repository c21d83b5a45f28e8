// SQS -> thumbnails, metadata, EXIF and caption for each record of the batch.
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { lambdaRuntime } from '../lib/deps.ts';
import { processJobBatch } from '../lib/process-batch.ts';
import { createWorkSlots } from '../lib/work-slots.ts';

const { config, deps } = lambdaRuntime('process-images');
// For the process: on AWS one invocation at a time, locally one worker thread per invocation.
const slots = createWorkSlots({ image: config.imageConcurrency, caption: config.captionConcurrency });

export const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  const { lifecycle, storage, queue, captioner, logger } = await deps();
  return processJobBatch(
    {
      lifecycle,
      storage,
      queue,
      captioner,
      logger,
      maxInputPixels: config.maxInputPixels,
      exifIncludeGps: config.exifIncludeGps,
      captionRetry: { maxAttempts: config.captionMaxAttempts, baseDelaySeconds: config.captionRetryDelaySeconds },
      maxDirectUploadBytes: config.directUpload.maxBytes,
      slots,
    },
    event.Records,
    {
      concurrency: config.processingConcurrency,
      maxReceiveCount: config.maxReceiveCount,
      remainingTimeMs: () => context.getRemainingTimeInMillis(),
      longestImageMs: config.maxImageSeconds * 1000,
    },
  );
};
