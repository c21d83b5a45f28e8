// GET /api/images/{id}/thumbnails/{size}
import { lambdaRuntime } from '../lib/deps.ts';
import { BadRequestError } from '../lib/errors.ts';
import { binaryResponse, httpHandler } from '../lib/http.ts';
import { getThumbnail } from '../lib/image-queries.ts';
import { isThumbnailSize } from '../lib/images/thumbnail-sizes.ts';

const { logger, deps } = lambdaRuntime('get-thumbnail');

export const handler = httpHandler(
  async (event) => {
    const size = event.pathParameters?.size ?? '';
    if (!isThumbnailSize(size)) throw new BadRequestError('Invalid thumbnail size. Use small or medium.');
    const bytes = await getThumbnail(await deps(), event.pathParameters?.id ?? '', size);
    return binaryResponse(bytes, 'image/jpeg');
  },
  { logger: () => logger },
);
