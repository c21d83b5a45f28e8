// POST /api/images
import { lambdaRuntime } from '../lib/deps.ts';
import { httpHandler, jsonResponse, multipartFile, requestBaseUrl } from '../lib/http.ts';
import { toQueued } from '../lib/presenters.ts';
import { uploadImage } from '../lib/upload-image.ts';

const { config, logger, deps } = lambdaRuntime('upload-image');

export const handler = httpHandler(
  async (event) => {
    const record = await uploadImage({ ...(await deps()), maxUploadBytes: config.maxUploadBytes }, multipartFile(event, 'file'));
    return jsonResponse(toQueued(record, requestBaseUrl(event, config.publicBaseUrl)), { statusCode: 202, status: 'queued' });
  },
  { logger: () => logger, multipart: { maxFileBytes: config.maxUploadBytes } },
);
