// POST /api/images/{id}/reprocess
import { lambdaRuntime } from '../lib/deps.ts';
import { httpHandler, jsonResponse, requestBaseUrl } from '../lib/http.ts';
import { toQueued } from '../lib/presenters.ts';
import { reprocessImage } from '../lib/reprocess-image.ts';

const { config, logger, deps, access } = lambdaRuntime('reprocess-image');

export const handler = httpHandler(
  async (event) => {
    const record = await reprocessImage(await deps(), event.pathParameters?.id ?? '');
    const links = (await access()).links(requestBaseUrl(event, config.publicBaseUrl));
    return jsonResponse(toQueued(record, links), { statusCode: 202, status: 'queued' });
  },
  { logger: () => logger, access: { route: 'write', get: access } },
);
