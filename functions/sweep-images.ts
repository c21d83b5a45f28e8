// Scheduled: re-enqueue images stuck in `queued`, fail those stuck in `processing`.
import { lambdaRuntime } from '../lib/deps.ts';
import { sweepStaleImages } from '../lib/sweep.ts';

const { config, deps } = lambdaRuntime('sweep-images');

export const handler = async (): Promise<{ requeued: number; failed: number }> => {
  const { images, queue, logger } = await deps();
  return sweepStaleImages(
    { images, queue, logger },
    { now: new Date(), staleQueuedSeconds: config.staleQueuedSeconds, staleProcessingSeconds: config.staleProcessingSeconds },
  );
};
