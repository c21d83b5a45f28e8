// Scheduled: send jobs never confirmed sent, schedule stranded captions, fail abandoned rows.
import { lambdaRuntime } from '../lib/deps.ts';
import { sweepStaleImages } from '../lib/sweep.ts';
import type { SweepResult } from '../lib/sweep.ts';

const { config, deps } = lambdaRuntime('sweep-images');

export const handler = async (): Promise<SweepResult> => {
  const { images, lifecycle, queue, logger } = await deps();
  return sweepStaleImages(
    { images, lifecycle, queue, logger },
    { now: new Date(), staleQueuedSeconds: config.staleQueuedSeconds, staleProcessingSeconds: config.staleProcessingSeconds },
  );
};
