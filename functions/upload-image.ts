// POST /api/images
import { createServiceDeps } from '../lib/deps.ts';
import { headerValue, httpHandler, jsonResponse, multipartFile, requestBaseUrl } from '../lib/http.ts';
import { toQueued } from '../lib/presenters.ts';
import { lambdaRuntime } from '../lib/runtime.ts';
import { uploadImage } from '../lib/upload-image.ts';

const { config, logger, deps, access } = lambdaRuntime('upload-image', createServiceDeps);

export const handler = httpHandler(
  async (event) => {
    const { record, replayed } = await uploadImage({ ...(await deps()), maxUploadBytes: config.maxUploadBytes }, multipartFile(event, 'file'), {
      idempotencyKey: headerValue(event, 'idempotency-key'),
    });
    return jsonResponse(toQueued(record, (await access()).links(requestBaseUrl(event, config.publicBaseUrl))), {
      statusCode: 202,
      status: 'queued',
      ...(replayed ? { headers: { 'idempotent-replayed': 'true' } } : {}),
    });
  },
  { logger: () => logger, access: { route: 'write', get: access }, multipart: { maxFileBytes: config.maxUploadBytes } },
);
