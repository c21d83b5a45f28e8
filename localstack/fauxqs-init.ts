// The fauxqs image's init file (docker compose --profile fauxqs) for the
// `localstack` stage, derived from resources.json like every other set-up:
//   npm run localstack:init   rewrites localstack/fauxqs-init.json
// test/deploy/docker.test.ts fails when the committed file is out of date.
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { RESOURCES, stageNames } from '../local/resources.ts';

export const DOCKER_STAGE = 'localstack';
export const DOCKER_REGION = 'us-east-1';
export const FAUXQS_INIT_FILE = resolve(import.meta.dirname, 'fauxqs-init.json');

export interface FauxqsInit {
  queues: Array<{ name: string; attributes: Record<string, string> }>;
  buckets: string[];
}

export function fauxqsInit(stage = DOCKER_STAGE, region = DOCKER_REGION): FauxqsInit {
  const names = stageNames(stage);
  return {
    queues: [
      { name: names.deadLetterQueue, attributes: { MessageRetentionPeriod: String(RESOURCES.deadLetterRetentionSeconds) } },
      {
        name: names.queue,
        attributes: {
          VisibilityTimeout: String(RESOURCES.visibilityTimeoutSeconds),
          MessageRetentionPeriod: String(RESOURCES.queueRetentionSeconds),
          RedrivePolicy: JSON.stringify({
            deadLetterTargetArn: `arn:aws:sqs:${region}:${RESOURCES.emulatorAccountId}:${names.deadLetterQueue}`,
            maxReceiveCount: String(RESOURCES.maxReceiveCount),
          }),
        },
      },
    ],
    buckets: [names.bucket],
  };
}

export function fauxqsInitText(): string {
  return `${JSON.stringify(fauxqsInit(), null, 2)}\n`;
}

if (import.meta.main) {
  writeFileSync(FAUXQS_INIT_FILE, fauxqsInitText());
  process.stdout.write(`wrote ${FAUXQS_INIT_FILE}\n`);
}
