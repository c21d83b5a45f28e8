// `npm start`: the whole stack on one machine. The embedded S3+SQS emulator,
// the database schema, serverless-offline with every function, and the SQS
// event source that feeds the processor. Ctrl-C (or SIGTERM) stops it all.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SQSClient } from '@aws-sdk/client-sqs';
import { openDatabase } from '../lib/db/client.ts';
import { startEmulator } from './emulator.ts';
import { PROJECT_ROOT, RESOURCES, stageNames } from './resources.ts';
import { startSqsEventSource } from './sqs-event-source.ts';

const STAGE = 'local';
const REGION = 'us-east-1';
const dataDir = resolve(PROJECT_ROOT, process.env.DATA_DIR ?? '.data');
// Test knobs: a short visibility timeout makes redeliveries after a crash quick.
const visibilityTimeoutSeconds = optionalSeconds('QUEUE_VISIBILITY_TIMEOUT_SECONDS');
const names = stageNames(STAGE);
const emulatorUrl = `http://127.0.0.1:${RESOURCES.emulatorPort}`;
const apiUrl = `http://localhost:${RESOURCES.httpPort}`;
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

function log(message: string): void {
  process.stdout.write(`[stack] ${message}\n`);
}

async function main(): Promise<void> {
  const started = performance.now();
  mkdirSync(resolve(dataDir, 'logs'), { recursive: true });
  const env: NodeJS.ProcessEnv & { LIBSQL_URL: string; LOG_FILE: string } = {
    ...process.env,
    AWS_ENDPOINT_URL: emulatorUrl,
    AWS_REGION: REGION,
    LIBSQL_URL: process.env.LIBSQL_URL ?? `file:${resolve(dataDir, 'images.db')}`,
    LOG_FILE: resolve(dataDir, 'logs', 'app.log'),
  };

  const emulator = await startEmulator({ dataDir, names, region: REGION, visibilityTimeoutSeconds });
  log(`S3 + SQS emulator on ${emulator.address} (bucket ${names.bucket}, queue ${names.queue}, dead-letter queue ${names.deadLetterQueue})`);

  const db = await openDatabase(env.LIBSQL_URL);
  db.close();

  const offline = spawn(process.execPath, [resolve(PROJECT_ROOT, 'node_modules/serverless/bin/serverless.js'), 'offline', 'start', '--stage', STAGE], {
    cwd: PROJECT_ROOT,
    env,
    stdio: ['ignore', 'inherit', 'inherit'],
    // Its own process group, so stopping the stack also stops the Lambda workers it forks.
    detached: true,
  });
  log(`serverless offline started (pid ${offline.pid})`);
  const offlineExit = new Promise<number | null>((resolveExit) => offline.once('exit', (code) => resolveExit(code)));

  const sqs = new SQSClient({ region: REGION, endpoint: emulatorUrl, credentials });
  const lambda = new LambdaClient({ region: REGION, endpoint: `http://127.0.0.1:${RESOURCES.lambdaPort}`, credentials, maxAttempts: 1 });
  const eventSources: Array<{ stop(): Promise<void> }> = [];
  let stopping = false;

  const stop = async (code: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log('stopping');
    await Promise.all(eventSources.map((source) => source.stop()));
    killGroup(offline, 'SIGTERM');
    const exited = await Promise.race([offlineExit.then(() => true), sleep(5_000, undefined, { ref: false }).then(() => false)]);
    if (!exited) killGroup(offline, 'SIGKILL');
    await emulator.stop();
    sqs.destroy();
    lambda.destroy();
    process.exit(code);
  };
  process.once('SIGINT', () => void stop(0));
  process.once('SIGTERM', () => void stop(0));
  void offlineExit.then((code) => {
    if (!stopping) {
      log(`serverless offline exited (code ${code}); stopping`);
      void stop(1);
    }
  });

  await waitForHttp(`http://127.0.0.1:${RESOURCES.httpPort}/api/stats`, 120_000, () => stopping);
  const onError = (error: unknown): void => log(`event source: ${error instanceof Error ? error.message : String(error)}`);
  const queueArn = (queue: string): string => `arn:aws:sqs:${REGION}:${RESOURCES.emulatorAccountId}:${queue}`;
  eventSources.push(
    startSqsEventSource({ sqs, lambda, queueUrl: names.queueUrl, queueArn: queueArn(names.queue), region: REGION, functionName: names.processorFunction, pollers: 2, onError }),
    startSqsEventSource({
      sqs,
      lambda,
      queueUrl: names.deadLetterQueueUrl,
      queueArn: queueArn(names.deadLetterQueue),
      region: REGION,
      functionName: names.deadLetterFunction,
      pollers: 1,
      onError,
    }),
  );

  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  log(`ready in ${seconds} s`);
  log(`API:        ${apiUrl}/api/images  (stats: ${apiUrl}/api/stats)`);
  log(`emulator:   ${emulatorUrl}  (S3 + SQS)`);
  log(`database:   ${env.LIBSQL_URL}`);
  log(`logs:       ${env.LOG_FILE}`);
  log(`captions:   ${env.CAPTION_ENDPOINT_URL ? `endpoint ${env.CAPTION_ENDPOINT_URL}` : env.HF_TOKEN ? 'Hugging Face hosted inference' : 'off (set HF_TOKEN or CAPTION_ENDPOINT_URL)'}`);
}

function optionalSeconds(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a whole number of seconds, got "${raw}"`);
  return value;
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

async function waitForHttp(url: string, timeoutMs: number, cancelled: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !cancelled()) {
    try {
      await fetch(url, { signal: AbortSignal.timeout(30_000) });
      return;
    } catch {
      await sleep(200);
    }
  }
  throw new Error(`${url} did not answer within ${timeoutMs / 1000} s`);
}

main().catch((error: unknown) => {
  process.stderr.write(`[stack] failed to start: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
