// GET /api/stats
import { lambdaRuntime } from '../lib/deps.ts';
import { httpHandler, jsonResponse } from '../lib/http.ts';
import { getStats } from '../lib/image-queries.ts';
import { toStatsView } from '../lib/presenters.ts';

const { logger, deps, access } = lambdaRuntime('get-stats');

export const handler = httpHandler(async () => jsonResponse(toStatsView(await getStats((await deps()).images))), {
  logger: () => logger,
  access: { route: 'read', get: access },
});
