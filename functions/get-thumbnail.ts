// GET /api/images/{id}/thumbnails/{size}
import { createServiceDeps } from '../lib/deps.ts';
import { BadRequestError } from '../lib/errors.ts';
import { httpHandler, immutableBinaryResponse } from '../lib/http.ts';
import { getThumbnail } from '../lib/image-queries.ts';
import { isThumbnailSize } from '../lib/images/thumbnail-sizes.ts';
import { lambdaRuntime } from '../lib/runtime.ts';

const { config, logger, deps, access } = lambdaRuntime('get-thumbnail', createServiceDeps);

export const handler = httpHandler(
  async (event) => {
    const size = event.pathParameters?.size ?? '';
    if (!isThumbnailSize(size)) throw new BadRequestError('Invalid thumbnail size. Use small or medium.');
    const id = event.pathParameters?.id ?? '';
    const bytes = await getThumbnail(await deps(), id, size);
    // getThumbnail found the image, so `id` is a well-formed UUID. A thumbnail never changes for an id.
    return immutableBinaryResponse(event, bytes, 'image/jpeg', {
      fileName: `${id}-${size}.jpg`,
      cache: config.access.readAccess === 'authenticated' ? 'private' : 'public',
    });
  },
  { logger: () => logger, access: { route: 'thumbnail', get: access } },
);
