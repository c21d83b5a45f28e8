// `npm run redrive`: runs again every image that failed for a transient cause
// (an outage longer than the queue's deliveries), optionally only those that
// failed since a time. Images that can never succeed (a corrupt file) are left
// failed; POST /api/images/{id}/reprocess runs one image of any kind again.
//
//   npm run redrive                               the `npm start` stack (DATA_DIR, EMULATOR_PORT)
//   npm run redrive -- --since 2026-01-31T08:00Z   only images failed at or after that time
//   npm run redrive -- --stage dev                 a deployed stage: LIBSQL_URL and LIBSQL_AUTH_TOKEN
//                                                  of its database and the usual AWS credentials; the
//                                                  queue is found by name (or set QUEUE_URL)
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadOperatorConfig } from '../lib/config.ts';
import { openDatabase } from '../lib/db/client.ts';
import { createImagesRepository } from '../lib/db/images-repository.ts';
import { createAwsClients } from '../lib/deps.ts';
import { createImageLifecycle } from '../lib/image-lifecycle.ts';
import { createLogger } from '../lib/log.ts';
import { createJobQueue, queueUrlByName } from '../lib/queue.ts';
import { redriveFailed } from '../lib/reprocess-image.ts';
import { PROJECT_ROOT, RESOURCES, stageNames } from './resources.ts';
import { stackPorts } from './supervisor.ts';

const { values } = parseArgs({ options: { since: { type: 'string' }, stage: { type: 'string', default: 'local' } } });
const stage = values.stage ?? 'local';
const since = values.since === undefined ? undefined : parseTime(values.since);

// The embedded stack's database and emulator unless the environment names others.
const localDefaults = (): Record<string, string> => {
  const endpoint = process.env.AWS_ENDPOINT_URL ?? `http://127.0.0.1:${stackPorts().emulator}`;
  return {
    LIBSQL_URL: `file:${resolve(PROJECT_ROOT, process.env.DATA_DIR ?? '.data', 'images.db')}`,
    AWS_ENDPOINT_URL: endpoint,
    QUEUE_URL: stageNames(stage, endpoint).queueUrl,
  };
};
const config = loadOperatorConfig({ ...(stage === 'local' ? localDefaults() : {}), ...process.env });

const db = await openDatabase(config.databaseUrl, config.databaseAuthToken);
const { sqs } = createAwsClients(config);
try {
  const queueUrl = config.queueUrl ?? (await queueUrlByName(sqs, `${RESOURCES.service}-${stage}-${RESOURCES.queueSuffix}`));
  const images = createImagesRepository(db);
  const result = await redriveFailed(
    {
      images,
      // Requeueing takes no lease; the value only completes the lifecycle's settings.
      lifecycle: createImageLifecycle(images, { leaseSeconds: RESOURCES.visibilityTimeoutSeconds }),
      queue: createJobQueue(sqs, queueUrl),
      logger: createLogger({ level: config.logLevel, file: undefined, name: 'redrive' }),
    },
    { since },
  );
  process.stdout.write(`redrive: ${result.requeued} image(s) queued again, ${result.sent} job(s) sent${since ? ` (failed since ${since})` : ''}\n`);
} catch (error) {
  process.stderr.write(`redrive: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
} finally {
  sqs.destroy();
  db.close();
}

function parseTime(raw: string): string {
  const time = Date.parse(raw);
  if (Number.isNaN(time)) {
    process.stderr.write(`redrive: --since must be a date and time (ISO 8601, e.g. 2026-01-31T08:00:00Z), got "${raw}"\n`);
    process.exit(2);
  }
  return new Date(time).toISOString();
}
