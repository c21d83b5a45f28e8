// A worker thread that writes to the database without pause, as a Lambda of
// the local stack does inside serverless offline: each upload accepted
// through the row lifecycle (lib/image-lifecycle.ts) on the native libSQL
// driver. Each committed id goes to the parent.
import { randomUUID } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import { openDatabase } from '../../lib/db/client.ts';
import { createImagesRepository } from '../../lib/db/images-repository.ts';
import { createImageLifecycle } from '../../lib/image-lifecycle.ts';

const { url, pauseEvery } = workerData as { url: string; pauseEvery: number };
const lifecycle = createImageLifecycle(createImagesRepository(await openDatabase(url)), { leaseSeconds: 30 });
for (let n = 1; ; n++) {
  const id = randomUUID();
  await lifecycle.accept({ id, originalName: `w-${n}.jpg`, originalKey: `originals/${id}.jpg`, contentType: 'image/jpeg', sizeBytes: 1, createdAt: new Date().toISOString() });
  parentPort?.postMessage({ committed: id });
  // Between database calls: the thread waits on a timer, in JavaScript.
  if (pauseEvery > 0 && n % pauseEvery === 0) {
    parentPort?.postMessage({ pausing: n });
    await new Promise((resolve) => setTimeout(resolve, 60_000));
  }
}
