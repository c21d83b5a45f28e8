// POST /api/images/{id}/reprocess
import { lambdaRuntime } from '../lib/deps.ts';
import { httpHandler, jsonResponse, requestBaseUrl } from '../lib/http.ts';
import { toQueued } from '../lib/presenters.ts';
import { reprocessImage } from '../lib/reprocess-image.ts';

const { config, logger, deps } = lambdaRuntime('reprocess-image');

export const handler = httpHandler(
  async (event) => {
    const record = await reprocessImage(await deps(), event.pathParameters?.id ?? '');
    return jsonResponse(toQueued(record, requestBaseUrl(event, config.publicBaseUrl)), { statusCode: 202, status: 'queued' });
  },
  { logger: () => logger },
);
