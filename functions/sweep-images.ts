// Scheduled: send jobs never confirmed sent, schedule stranded captions, fail abandoned rows, remove unused direct uploads.
import { lambdaRuntime } from '../lib/deps.ts';
import { sweepStaleImages } from '../lib/sweep.ts';
import type { SweepResult } from '../lib/sweep.ts';

const { config, deps } = lambdaRuntime('sweep-images');

export const handler = async (): Promise<SweepResult> => {
  const { images, lifecycle, queue, storage, logger } = await deps();
  return sweepStaleImages(
    { images, lifecycle, queue, storage, logger },
    {
      now: new Date(),
      staleQueuedSeconds: config.staleQueuedSeconds,
      staleProcessingSeconds: config.staleProcessingSeconds,
      uploadGraceSeconds: config.directUpload.expiryGraceSeconds,
    },
  );
};
