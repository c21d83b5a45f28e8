// GET / and GET /gallery/{asset}: the gallery page and its files.
import page from 'virtual:gallery-page';
import { lambdaRuntime } from '../lib/deps.ts';
import { galleryResponse } from '../lib/gallery.ts';
import { httpHandler } from '../lib/http.ts';

const { logger, access } = lambdaRuntime('get-gallery');

export const handler = httpHandler(async (event) => galleryResponse(page, event.pathParameters?.asset), {
  logger: () => logger,
  access: { route: 'public', get: access },
});
