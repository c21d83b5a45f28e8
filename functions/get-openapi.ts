// GET /api/openapi.json
import { createDatabaseDeps, lambdaRuntime } from '../lib/runtime.ts';
import { httpHandler, requestBaseUrl } from '../lib/http.ts';
import { openApiDocument } from '../lib/openapi.ts';

// The database is never opened: the document is public (lib/http.ts skips the access check).
const { config, logger, access } = lambdaRuntime('get-openapi', createDatabaseDeps);

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
