// POST /api/uploads: a row awaiting a direct upload, and the presigned POST to send the file with.
import { lambdaRuntime } from '../lib/deps.ts';
import { requestDirectUpload } from '../lib/direct-upload.ts';
import { httpHandler, jsonBody, jsonResponse, requestBaseUrl } from '../lib/http.ts';
import { toDirectUpload } from '../lib/presenters.ts';
import { uploadSignerFor } from '../lib/upload-signer.ts';

const { config, logger, deps, access } = lambdaRuntime('create-upload');
const signer = uploadSignerFor(config);

export const handler = httpHandler(
  async (event) => {
    const { lifecycle } = await deps();
    const { record, upload } = await requestDirectUpload(
      { lifecycle, signer, logger, maxBytes: config.directUpload.maxBytes, urlTtlSeconds: config.directUpload.urlTtlSeconds },
      jsonBody(event),
    );
    return jsonResponse(toDirectUpload(record, upload, (await access()).links(requestBaseUrl(event, config.publicBaseUrl))), { statusCode: 201 });
  },
  { logger: () => logger, access: { route: 'write', get: access } },
);
