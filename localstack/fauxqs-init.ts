// The fauxqs image's init file (docker compose --profile fauxqs) for the
// `localstack` stage, derived from resources.json like every other set-up:
//   npm run localstack:init   rewrites localstack/fauxqs-init.json
// test/deploy/docker.test.ts fails when the committed file is out of date.
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { emulatorInit, stageNames } from '../local/resources.ts';
import type { EmulatorInit } from '../local/resources.ts';

export const DOCKER_STAGE = 'localstack';
export const DOCKER_REGION = 'us-east-1';
export const FAUXQS_INIT_FILE = resolve(import.meta.dirname, 'fauxqs-init.json');

export function fauxqsInit(stage = DOCKER_STAGE, region = DOCKER_REGION): EmulatorInit {
  return emulatorInit(stageNames(stage), { region });
}

export function fauxqsInitText(): string {
  return `${JSON.stringify(fauxqsInit(), null, 2)}\n`;
}

if (import.meta.main) {
  writeFileSync(FAUXQS_INIT_FILE, fauxqsInitText());
  process.stdout.write(`wrote ${FAUXQS_INIT_FILE}\n`);
}
