// GET /api/openapi.json
import { lambdaRuntime } from '../lib/deps.ts';
import { httpHandler, requestBaseUrl } from '../lib/http.ts';
import { openApiDocument } from '../lib/openapi.ts';

const { config, logger, access } = lambdaRuntime('get-openapi');

export const handler = httpHandler(
  async (event) => {
    const document = openApiDocument({
      baseUrl: requestBaseUrl(event, config.publicBaseUrl),
      access: config.access,
      maxUploadBytes: config.maxUploadBytes,
      maxDirectUploadBytes: config.directUpload.maxBytes,
    });
    // The bare document, not the envelope: it is what OpenAPI tools read.
    return { statusCode: 200, headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-cache' }, body: JSON.stringify(document) };
  },
  { logger: () => logger, access: { route: 'public', get: access } },
);
