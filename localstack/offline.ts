// `npm run offline:docker`: serverless offline (stage `localstack`) against the
// emulator and libSQL server of docker-compose.yml instead of the embedded
// ones. The bucket and queues are the init scripts' (localstack/); this process
// adds what serverless-offline does not do: delivering SQS messages to the
// processor and the dead-letter handler (local/sqs-event-source.ts), and the
// upload gateway that direct uploads are sent through (local/upload-gateway.ts:
// CORS and the bucket notification, as for `npm start`).
// serverless-offline runs the sweep's `schedule` event itself. Ctrl-C stops
// it all, the same way as `npm start` (local/supervisor.ts); the containers
// keep running.
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import { openDatabase } from '../lib/db/client.ts';
import { PROJECT_ROOT, RESOURCES, stageNames } from '../local/resources.ts';
import { stackPorts, superviseStack } from '../local/supervisor.ts';
import { allowedOrigins, startUploadGateway } from '../local/upload-gateway.ts';
import { DOCKER_REGION, DOCKER_STAGE } from './fauxqs-init.ts';

const endpoint = process.env.AWS_ENDPOINT_URL ?? `http://127.0.0.1:${RESOURCES.emulatorPort}`;
const databaseUrl = process.env.LIBSQL_URL ?? `http://127.0.0.1:${RESOURCES.libsqlPort}`;
const logFile = resolve(PROJECT_ROOT, '.data', DOCKER_STAGE, 'logs', 'app.log');
const names = stageNames(DOCKER_STAGE, endpoint);
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

/** The init scripts run after the emulator starts listening: wait for what they create. */
async function waitForResources(s3: S3Client, sqs: SQSClient): Promise<void> {
  const deadline = Date.now() + 90_000;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      await s3.send(new HeadBucketCommand({ Bucket: names.bucket }));
      await sqs.send(new GetQueueUrlCommand({ QueueName: names.queue }));
      await sqs.send(new GetQueueUrlCommand({ QueueName: names.deadLetterQueue }));
      return;
    } catch (error) {
      last = error;
      await sleep(1_000);
    }
  }
  const reason = last instanceof Error ? last.message : String(last);
  throw new Error(
    `bucket ${names.bucket} and queues ${names.queue}, ${names.deadLetterQueue} not found at ${endpoint} (${reason}). ` +
      'Start the emulator first: docker compose --profile localstack up -d (or --profile fauxqs).',
  );
}

superviseStack('docker stack', async (stack) => {
  const ports = stackPorts();
  await stack.assertPortsFree([
    ['HTTP_PORT', ports.http],
    ['LAMBDA_PORT', ports.lambda],
    ['UPLOAD_PORT', ports.upload],
  ]);
  mkdirSync(resolve(logFile, '..'), { recursive: true });
  const s3 = new S3Client({ region: DOCKER_REGION, endpoint, credentials, forcePathStyle: true });
  const sqs = new SQSClient({ region: DOCKER_REGION, endpoint, credentials });
  try {
    await waitForResources(s3, sqs);
  } finally {
    s3.destroy();
    sqs.destroy();
  }
  try {
    (await openDatabase(databaseUrl, process.env.LIBSQL_AUTH_TOKEN)).close();
  } catch (error) {
    throw new Error(`libSQL server at ${databaseUrl} unreachable (${error instanceof Error ? error.message : String(error)}); docker compose up -d libsql`);
  }

  const gateway = await startUploadGateway({
    port: ports.upload,
    emulatorUrl: endpoint,
    region: DOCKER_REGION,
    bucket: names.bucket,
    queueUrl: names.queueUrl,
    allowedOrigins: allowedOrigins(process.env.CORS_ALLOWED_ORIGINS),
    onError: (error) => stack.log(`upload gateway: ${error instanceof Error ? error.message : String(error)}`),
  });
  stack.onStop(() => gateway.stop());
  const env = {
    ...process.env,
    AWS_ENDPOINT_URL: endpoint,
    AWS_REGION: DOCKER_REGION,
    LIBSQL_URL: databaseUrl,
    LOG_FILE: logFile,
    S3_UPLOAD_ENDPOINT: process.env.S3_UPLOAD_ENDPOINT || gateway.url,
  };
  stack.spawnOffline({ stage: DOCKER_STAGE, env, ports });
  stack.log(`emulator ${endpoint}: bucket ${names.bucket}, queue ${names.queue}, dead-letter queue ${names.deadLetterQueue}`);
  stack.log(`database ${databaseUrl}; logs ${logFile}`);
  await stack.waitForApi(ports);
  stack.startQueueDelivery({ names, emulatorUrl: endpoint, region: DOCKER_REGION, ports });
  stack.log(`ready: API on http://localhost:${ports.http}`);
});
