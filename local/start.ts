// `npm start`: the whole stack on one machine. The embedded S3+SQS emulator,
// the upload gateway in front of it for direct uploads (CORS and the bucket
// notification, which the emulator lacks), the database schema,
// serverless-offline with every function, and the SQS event source that
// feeds the processor. Ctrl-C (or SIGTERM, SIGHUP) stops it
// all; local/supervisor.ts says how every way of ending frees the ports.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { openDatabase } from '../lib/db/client.ts';
import { startEmulator } from './emulator.ts';
import { PROJECT_ROOT, stageNames } from './resources.ts';
import { stackPorts, superviseStack } from './supervisor.ts';
import { allowedOrigins, startUploadGateway } from './upload-gateway.ts';

const STAGE = 'local';
const REGION = 'us-east-1';

superviseStack('stack', async (stack) => {
  const started = performance.now();
  const dataDir = resolve(PROJECT_ROOT, process.env.DATA_DIR ?? '.data');
  // Test knob: a short visibility timeout makes redeliveries after a crash quick.
  const visibilityTimeoutSeconds = optionalSeconds('QUEUE_VISIBILITY_TIMEOUT_SECONDS');
  const ports = stackPorts();
  const emulatorUrl = `http://127.0.0.1:${ports.emulator}`;
  const apiUrl = `http://localhost:${ports.http}`;
  const names = stageNames(STAGE, emulatorUrl);
  await stack.assertPortsFree([
    ['HTTP_PORT', ports.http],
    ['LAMBDA_PORT', ports.lambda],
    ['EMULATOR_PORT', ports.emulator],
    ['UPLOAD_PORT', ports.upload],
  ]);

  mkdirSync(resolve(dataDir, 'logs'), { recursive: true });
  const env: NodeJS.ProcessEnv & { LIBSQL_URL: string; LOG_FILE: string } = {
    ...process.env,
    AWS_ENDPOINT_URL: emulatorUrl,
    AWS_REGION: REGION,
    LIBSQL_URL: process.env.LIBSQL_URL ?? `file:${resolve(dataDir, 'images.db')}`,
    LOG_FILE: resolve(dataDir, 'logs', 'app.log'),
    THUMBNAIL_URL_SECRET: process.env.THUMBNAIL_URL_SECRET || thumbnailUrlSecret(dataDir),
    // Presigned POSTs go to the upload gateway, which stands in for S3's CORS and notifications.
    S3_UPLOAD_ENDPOINT: process.env.S3_UPLOAD_ENDPOINT || `http://localhost:${ports.upload}`,
  };

  const emulator = await startEmulator({ dataDir, names, port: ports.emulator, region: REGION, visibilityTimeoutSeconds });
  stack.onStop(() => emulator.stop());
  stack.log(`S3 + SQS emulator on ${emulator.address} (bucket ${names.bucket}, queue ${names.queue}, dead-letter queue ${names.deadLetterQueue})`);
  const gateway = await startUploadGateway({
    port: ports.upload,
    emulatorUrl,
    region: REGION,
    bucket: names.bucket,
    queueUrl: names.queueUrl,
    allowedOrigins: allowedOrigins(process.env.CORS_ALLOWED_ORIGINS),
    onError: (error) => stack.log(`upload gateway: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`),
  });
  stack.onStop(() => gateway.stop());

  const db = await openDatabase(env.LIBSQL_URL);
  db.close();

  stack.spawnOffline({ stage: STAGE, env, ports });
  await stack.waitForApi(ports);
  stack.startQueueDelivery({ names, emulatorUrl, region: REGION, ports });

  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  stack.log(`ready in ${seconds} s`);
  stack.log(`API:        ${apiUrl}/api/images  (stats: ${apiUrl}/api/stats)`);
  stack.log(`emulator:   ${emulatorUrl}  (S3 + SQS)`);
  stack.log(`uploads:    ${gateway.url}  (direct uploads of POST /api/uploads)`);
  stack.log(`database:   ${env.LIBSQL_URL}`);
  stack.log(`logs:       ${env.LOG_FILE}`);
  stack.log(`access:     ${env.AUTH_MODE && env.AUTH_MODE !== 'none' ? `AUTH_MODE=${env.AUTH_MODE} (keys: npm run api-key -- create --name NAME)` : 'open (AUTH_MODE=none)'}`);
  stack.log(`captions:   ${env.CAPTION_ENDPOINT_URL ? `endpoint ${env.CAPTION_ENDPOINT_URL}` : env.HF_TOKEN ? 'Hugging Face hosted inference' : 'off (set HF_TOKEN or CAPTION_ENDPOINT_URL)'}`);
});

/**
 * Every function of the stack must sign thumbnail URLs with the same secret,
 * and links handed out before a restart should still open: one random secret
 * per data folder, kept beside the database.
 */
function thumbnailUrlSecret(dataDir: string): string {
  const file = resolve(dataDir, 'thumbnail-url-secret');
  if (!existsSync(file)) writeFileSync(file, randomBytes(32).toString('base64url'), { mode: 0o600 });
  return readFileSync(file, 'utf8').trim();
}

function optionalSeconds(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a whole number of seconds, got "${raw}"`);
  return value;
}
