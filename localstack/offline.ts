// `npm run offline:docker`: serverless offline (stage `localstack`) against the
// emulator and libSQL server of docker-compose.yml instead of the embedded
// ones. The bucket and queues are the init scripts' (localstack/); this process
// adds what serverless-offline does not do: delivering SQS messages to the
// processor and the dead-letter handler (local/sqs-event-source.ts).
// serverless-offline runs the sweep's `schedule` event itself. Ctrl-C stops
// it all; the containers keep running.
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import { openDatabase } from '../lib/db/client.ts';
import { PROJECT_ROOT, RESOURCES, stageNames } from '../local/resources.ts';
import { startSqsEventSource } from '../local/sqs-event-source.ts';
import { DOCKER_REGION, DOCKER_STAGE } from './fauxqs-init.ts';

const endpoint = process.env.AWS_ENDPOINT_URL ?? `http://127.0.0.1:${RESOURCES.emulatorPort}`;
const databaseUrl = process.env.LIBSQL_URL ?? `http://127.0.0.1:${RESOURCES.libsqlPort}`;
const logFile = resolve(PROJECT_ROOT, '.data', DOCKER_STAGE, 'logs', 'app.log');
const names = stageNames(DOCKER_STAGE, endpoint);
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

function log(message: string): void {
  process.stdout.write(`[docker stack] ${message}\n`);
}

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

async function main(): Promise<void> {
  mkdirSync(resolve(logFile, '..'), { recursive: true });
  const s3 = new S3Client({ region: DOCKER_REGION, endpoint, credentials, forcePathStyle: true });
  const sqs = new SQSClient({ region: DOCKER_REGION, endpoint, credentials });
  await waitForResources(s3, sqs);
  s3.destroy();
  try {
    (await openDatabase(databaseUrl, process.env.LIBSQL_AUTH_TOKEN)).close();
  } catch (error) {
    throw new Error(`libSQL server at ${databaseUrl} unreachable (${error instanceof Error ? error.message : String(error)}); docker compose up -d libsql`);
  }

  const env = { ...process.env, AWS_ENDPOINT_URL: endpoint, AWS_REGION: DOCKER_REGION, LIBSQL_URL: databaseUrl, LOG_FILE: logFile };
  const serverless = resolve(PROJECT_ROOT, 'node_modules/serverless/bin/serverless.js');
  const offline = spawn(process.execPath, [serverless, 'offline', 'start', '--stage', DOCKER_STAGE], {
    cwd: PROJECT_ROOT,
    env,
    stdio: ['ignore', 'inherit', 'inherit'],
    // Its own process group, so stopping also stops the Lambda workers it forks.
    detached: true,
  });

  const lambda = new LambdaClient({ region: DOCKER_REGION, endpoint: `http://127.0.0.1:${RESOURCES.lambdaPort}`, credentials, maxAttempts: 1 });
  const onError = (error: unknown): void => log(`event source: ${error instanceof Error ? error.message : String(error)}`);
  const arn = (queue: string): string => `arn:aws:sqs:${DOCKER_REGION}:${RESOURCES.emulatorAccountId}:${queue}`;
  const common = { sqs, lambda, region: DOCKER_REGION, onError };
  const sources = [
    startSqsEventSource({ ...common, queueUrl: names.queueUrl, queueArn: arn(names.queue), functionName: names.processorFunction, pollers: 2 }),
    startSqsEventSource({ ...common, queueUrl: names.deadLetterQueueUrl, queueArn: arn(names.deadLetterQueue), functionName: names.deadLetterFunction, pollers: 1 }),
  ];
  let stopping = false;
  const stop = async (code: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    await Promise.all(sources.map((source) => source.stop()));
    if (offline.pid !== undefined && offline.exitCode === null) {
      try {
        process.kill(-offline.pid, 'SIGTERM');
      } catch {
        // Already gone.
      }
    }
    sqs.destroy();
    lambda.destroy();
    process.exit(code);
  };
  process.once('SIGINT', () => void stop(0));
  process.once('SIGTERM', () => void stop(0));
  offline.once('exit', (code) => void stop(code ?? 1));

  log(`emulator ${endpoint}: bucket ${names.bucket}, queue ${names.queue}, dead-letter queue ${names.deadLetterQueue}`);
  log(`database ${databaseUrl}; logs ${logFile}`);
  log(`API on http://localhost:${RESOURCES.httpPort} once serverless offline is up`);
}

main().catch((error: unknown) => {
  process.stderr.write(`[docker stack] failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
