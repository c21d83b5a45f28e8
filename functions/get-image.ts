// GET /api/images/{id}
import { lambdaRuntime } from '../lib/deps.ts';
import { httpHandler, jsonResponse, requestBaseUrl } from '../lib/http.ts';
import { getImage } from '../lib/image-queries.ts';
import { toDetail } from '../lib/presenters.ts';

const { config, logger, deps } = lambdaRuntime('get-image');

export const handler = httpHandler(
  async (event) => {
    const record = await getImage((await deps()).images, event.pathParameters?.id ?? '');
    return jsonResponse(toDetail(record, requestBaseUrl(event, config.publicBaseUrl)));
  },
  { logger: () => logger },
);
