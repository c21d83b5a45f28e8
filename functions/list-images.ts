// GET /api/images?limit=N&cursor=C&status=S&q=words
import { createDatabaseDeps, lambdaRuntime } from '../lib/runtime.ts';
import { httpHandler, jsonResponse, requestBaseUrl } from '../lib/http.ts';
import { listImages } from '../lib/image-queries.ts';
import { nextPageHeaders, toSummary } from '../lib/presenters.ts';

const { config, logger, deps, access } = lambdaRuntime('list-images', createDatabaseDeps);

export const handler = httpHandler(
  async (event) => {
    const query = event.queryStringParameters ?? {};
    const page = await listImages((await deps()).images, { limit: query.limit, cursor: query.cursor, status: query.status, q: query.q });
    const baseUrl = requestBaseUrl(event, config.publicBaseUrl);
    const links = (await access()).links(baseUrl);
    // The body stays the specification's envelope: the next page is told in headers.
    return jsonResponse(
      page.items.map((item) => toSummary(item, links)),
      { headers: nextPageHeaders(baseUrl, page.limit, page.nextCursor, page.status, page.q) },
    );
  },
  { logger: () => logger, access: { route: 'read', get: access } },
);
