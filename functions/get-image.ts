// GET /api/images/{id}
import { createDatabaseDeps, lambdaRuntime } from '../lib/runtime.ts';
import { httpHandler, jsonResponse, requestBaseUrl } from '../lib/http.ts';
import { getImage } from '../lib/image-queries.ts';
import { toDetail } from '../lib/presenters.ts';

const { config, logger, deps, access } = lambdaRuntime('get-image', createDatabaseDeps);

export const handler = httpHandler(
  async (event) => {
    const record = await getImage((await deps()).images, event.pathParameters?.id ?? '');
    return jsonResponse(toDetail(record, (await access()).links(requestBaseUrl(event, config.publicBaseUrl))));
  },
  { logger: () => logger, access: { route: 'read', get: access } },
);
