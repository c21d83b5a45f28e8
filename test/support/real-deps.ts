// Real dependencies for lib/ tests: the fauxqs emulator in-process on a free
// port, a libSQL file in a temp folder, and the project's own adapters on top.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { FauxqsServer } from 'fauxqs';
import { openDatabase } from '../../lib/db/client.ts';
import type { DatabaseClient } from '../../lib/db/client.ts';
import { createImagesRepository } from '../../lib/db/images-repository.ts';
import type { ImagesRepository } from '../../lib/db/images-repository.ts';
import { createImageLifecycle } from '../../lib/image-lifecycle.ts';
import type { ImageLifecycle } from '../../lib/image-lifecycle.ts';
import { createLogger } from '../../lib/log.ts';
import type { Logger } from '../../lib/log.ts';
import type { PipelineDeps } from '../../lib/pipeline.ts';
import { createJobQueue } from '../../lib/queue.ts';
import type { JobQueue } from '../../lib/queue.ts';
import { createImageStorage } from '../../lib/storage.ts';
import type { ImageStorage } from '../../lib/storage.ts';
import type { UploadDeps } from '../../lib/upload-image.ts';
import { startEmulator } from '../../local/emulator.ts';
import { stageNames } from '../../local/resources.ts';
import type { StageNames } from '../../local/resources.ts';

export const TEST_CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };

export interface TestDeps {
  dir: string;
  emulator: FauxqsServer;
  endpoint: string;
  names: StageNames;
  s3: S3Client;
  sqs: SQSClient;
  db: DatabaseClient;
  images: ImagesRepository;
  /** Leases as long as the queue's visibility timeout, as deployed. */
  lifecycle: ImageLifecycle;
  storage: ImageStorage;
  queue: JobQueue;
  logger: Logger;
  /** Stops the emulator and starts it again on the same port with the same persisted state. */
  restartEmulator(downMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startTestDeps(options: { visibilityTimeoutSeconds?: number } = {}): Promise<TestDeps> {
  const dir = mkdtempSync(join(tmpdir(), 'imageprocessingapi-test-'));
  const placeholder = stageNames('test');
  const visibilityTimeoutSeconds = options.visibilityTimeoutSeconds ?? 30;
  let emulator = await startEmulator({ dataDir: dir, names: placeholder, port: 0, visibilityTimeoutSeconds });
  const port = emulator.port;
  const endpoint = `http://127.0.0.1:${emulator.port}`;
  const names = stageNames('test', endpoint);
  const s3 = new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true, credentials: TEST_CREDENTIALS });
  const sqs = new SQSClient({ region: 'us-east-1', endpoint, credentials: TEST_CREDENTIALS });
  const db = await openDatabase(`file:${join(dir, 'images.db')}`);
  const logger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent', file: undefined });
  const images = createImagesRepository(db);
  const deps: TestDeps = {
    dir,
    emulator,
    endpoint,
    names,
    s3,
    sqs,
    db,
    images,
    lifecycle: createImageLifecycle(images, { leaseSeconds: visibilityTimeoutSeconds }),
    storage: createImageStorage(s3, names.bucket),
    queue: createJobQueue(sqs, names.queueUrl),
    logger,
    async restartEmulator(downMs = 200) {
      await emulator.stop();
      await new Promise((resolve) => setTimeout(resolve, downMs));
      emulator = await startEmulator({ dataDir: dir, names: placeholder, port, visibilityTimeoutSeconds });
      deps.emulator = emulator;
    },
    async close() {
      s3.destroy();
      sqs.destroy();
      db.close();
      await emulator.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return deps;
}

/** Clients aimed at a port where nothing listens: a real connection-refused fault. */
export function unreachableClients(): { s3: S3Client; sqs: SQSClient } {
  const endpoint = 'http://127.0.0.1:9';
  return {
    s3: new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true, credentials: TEST_CREDENTIALS, maxAttempts: 1 }),
    sqs: new SQSClient({ region: 'us-east-1', endpoint, credentials: TEST_CREDENTIALS, maxAttempts: 1 }),
  };
}

/** The processor's deps on these real parts: no captioner and one caption attempt unless a test says otherwise. */
export function pipelineDeps(t: TestDeps, overrides: Partial<PipelineDeps> = {}): PipelineDeps {
  return {
    lifecycle: t.lifecycle,
    storage: t.storage,
    queue: t.queue,
    captioner: null,
    logger: t.logger,
    maxInputPixels: 40_000_000,
    exifIncludeGps: false,
    captionRetry: { maxAttempts: 1, baseDelaySeconds: 1 },
    ...overrides,
  };
}

/** The upload's deps on these real parts, with a 10 MiB limit unless a test says otherwise. */
export function uploadDeps(t: TestDeps, overrides: Partial<UploadDeps> = {}): UploadDeps {
  return { storage: t.storage, images: t.images, lifecycle: t.lifecycle, queue: t.queue, logger: t.logger, maxUploadBytes: 10 * 1024 * 1024, ...overrides };
}
