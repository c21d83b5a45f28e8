// The embedded S3 + SQS emulator (fauxqs) with the stage's bucket, queue and
// dead-letter queue. State persists under dataDir, so images survive restarts;
// re-applying the init on start is harmless.
import { join } from 'node:path';
import { startFauxqs } from 'fauxqs';
import type { FauxqsServer } from 'fauxqs';
import { emulatorInit, RESOURCES } from './resources.ts';
import type { StageNames } from './resources.ts';

export interface EmulatorOptions {
  dataDir: string;
  names: StageNames;
  port?: number;
  region?: string;
  /** Shorter than the deployed value only for tests that wait for redeliveries. */
  visibilityTimeoutSeconds?: number;
}

export async function startEmulator(options: EmulatorOptions): Promise<FauxqsServer> {
  const { names } = options;
  const region = options.region ?? 'us-east-1';
  return startFauxqs({
    port: options.port ?? RESOURCES.emulatorPort,
    logger: false,
    defaultRegion: region,
    dataDir: join(options.dataDir, 'emulator'),
    s3StorageDir: join(options.dataDir, 's3'),
    init: emulatorInit(names, { region, visibilityTimeoutSeconds: options.visibilityTimeoutSeconds }),
  });
}
