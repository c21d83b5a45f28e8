// GET /api/images
import { lambdaRuntime } from '../lib/deps.ts';
import { httpHandler, jsonResponse, requestBaseUrl } from '../lib/http.ts';
import { listImages } from '../lib/image-queries.ts';
import { toSummary } from '../lib/presenters.ts';

const { config, logger, deps } = lambdaRuntime('list-images');

export const handler = httpHandler(
  async (event) => {
    const records = await listImages((await deps()).images);
    const baseUrl = requestBaseUrl(event, config.publicBaseUrl);
    return jsonResponse(records.map((record) => toSummary(record, baseUrl)));
  },
  { logger: () => logger },
);
