// The real local stack for a bench: one in a data folder and on ports of its
// own (beside a developer's `npm start` or a test run), always stopped, on
// Ctrl-C too.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@libsql/client';
import type { Client } from '@libsql/client';
import { startStack } from '../../test/support/stack.ts';
import type { RunningStack } from '../../test/support/stack.ts';
import { progress } from './report.ts';

export interface StackSession {
  stack: RunningStack;
  dataDir: string;
  /** The stack's own database file, opened by the bench (WAL: readers and writers coexist). */
  db: Client;
}

/**
 * serverless-offline prints two notice lines per request. The benches turn
 * them off (SLS_LOG_LEVEL=warning; BENCH_SLS_LOG_LEVEL=notice keeps them):
 * they are the local dev server's, not the product's, and startStack keeps the
 * whole output in one string that it searches on every chunk, which under a
 * read bench grows to megabytes and slows the bench client more and more
 * (measured: 1,500 → under 200 requests/s at 1 connection within 30 s).
 * The application's own JSON logs stay on.
 */
export const QUIET_DEV_SERVER: Record<string, string> = { SLS_LOG_LEVEL: process.env.BENCH_SLS_LOG_LEVEL ?? 'warning' };

export async function withStack<T>(env: Record<string, string>, fn: (session: StackSession) => Promise<T>): Promise<T> {
  const workDir = mkdtempSync(join(tmpdir(), 'bench-stack-'));
  const dataDir = join(workDir, 'data');
  progress(`starting the stack in ${dataDir}${Object.keys(env).length > 0 ? ` with ${Object.entries(env).map(([k, v]) => `${k}=${v}`).join(' ')}` : ''}`);
  const stack = await startStack({ dataDir, env });
  const db = createClient({ url: `file:${join(dataDir, 'images.db')}`, intMode: 'number', timeout: 5_000 });
  const interrupted = (): void => {
    void stack.stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    return await fn({ stack, dataDir, db });
  } catch (error) {
    process.stderr.write(`stack output:\n${stack.output().slice(-4000)}\n`);
    throw error;
  } finally {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
    db.close();
    await stack.stop();
    // BENCH_KEEP_DATA=1 keeps the stack's database, objects and logs for a look afterwards.
    if (process.env.BENCH_KEEP_DATA) progress(`kept the stack's data in ${dataDir}`);
    else rmSync(workDir, { recursive: true, force: true });
  }
}
