// Child process of test/integration/worker-termination.test.ts: starts the
// writer of db-writer-worker.ts on a database file and terminates its thread,
// the way serverless offline ends a Lambda's worker on a timeout, a code
// reload or a stop. Prints one JSON line per committed row, then
// {"survived": exitCode} if this process is still alive.
//   node test/support/terminate-db-writer.ts <libsql url> while-writing|between-writes
import { Worker } from 'node:worker_threads';
import { openDatabase } from '../../lib/db/client.ts';

const [url, moment] = process.argv.slice(2);
if (!url || (moment !== 'while-writing' && moment !== 'between-writes')) throw new Error('usage: terminate-db-writer.ts <url> while-writing|between-writes');
const BEFORE = 20;

const db = await openDatabase(url);
const worker = new Worker(new URL('./db-writer-worker.ts', import.meta.url), { workerData: { url, pauseEvery: moment === 'between-writes' ? BEFORE : 0 } });
let committed = 0;
const reached = new Promise<void>((resolveReached) => {
  worker.on('message', (message: { committed?: string; pausing?: number }) => {
    if (message.committed) {
      process.stdout.write(`${JSON.stringify({ committed: message.committed })}\n`);
      committed += 1;
      if (moment === 'while-writing' && committed === BEFORE) resolveReached();
    }
    if (message.pausing) resolveReached();
  });
});
await reached;

let exitCode: number;
if (moment === 'while-writing') {
  // Another connection holds the write lock: the worker's next insert waits
  // for it inside libsql's native code (the busy timeout), as a Lambda does
  // behind a writer that is slow to commit. The thread is terminated there.
  const lock = await db.transaction('write');
  await lock.execute("UPDATE image_counters SET total = total WHERE id = 1");
  await new Promise((resolve) => setTimeout(resolve, 300));
  const terminated = worker.terminate();
  await new Promise((resolve) => setTimeout(resolve, 100));
  await lock.rollback();
  exitCode = await terminated;
} else {
  exitCode = await worker.terminate();
}
db.close();
process.stdout.write(`${JSON.stringify({ survived: exitCode })}\n`);
