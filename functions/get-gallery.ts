// GET / and GET /gallery/{asset}: the gallery page and its files.
import page from 'virtual:gallery-page';
import { createDatabaseDeps, lambdaRuntime } from '../lib/runtime.ts';
import { directUploadOrigins, galleryResponse } from '../lib/gallery.ts';
import { httpHandler } from '../lib/http.ts';

// The database is never opened: the page is public (lib/http.ts skips the access check).
const { config, logger, access } = lambdaRuntime('get-gallery', createDatabaseDeps);
const uploadOrigins = directUploadOrigins(config);

export const handler = httpHandler(async (event) => galleryResponse(page, event.pathParameters?.asset, { uploadOrigins }), {
  logger: () => logger,
  access: { route: 'public', get: access },
});
