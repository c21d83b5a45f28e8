// DELETE /api/images/{id}
import { deleteImage } from '../lib/delete-image.ts';
import { createServiceDeps } from '../lib/deps.ts';
import { httpHandler, jsonResponse } from '../lib/http.ts';
import { toDeleted } from '../lib/presenters.ts';
import { lambdaRuntime } from '../lib/runtime.ts';

const { logger, deps, access } = lambdaRuntime('delete-image', createServiceDeps);

export const handler = httpHandler(
  async (event) => {
    const { images, storage } = await deps();
    return jsonResponse(toDeleted(await deleteImage({ images, storage, logger }, event.pathParameters?.id ?? '')));
  },
  { logger: () => logger, access: { route: 'write', get: access } },
);
