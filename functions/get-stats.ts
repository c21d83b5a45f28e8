// GET /api/stats
import { createDatabaseDeps, lambdaRuntime } from '../lib/runtime.ts';
import { httpHandler, jsonResponse } from '../lib/http.ts';
import { getStats } from '../lib/image-queries.ts';
import { toStatsView } from '../lib/presenters.ts';

const { logger, deps, access } = lambdaRuntime('get-stats', createDatabaseDeps);

export const handler = httpHandler(async () => jsonResponse(toStatsView(await getStats((await deps()).images))), {
  logger: () => logger,
  access: { route: 'read', get: access },
});
