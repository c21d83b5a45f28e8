// The real local stack for a bench: waits while another stack (a test run,
// someone's `npm start`) holds the ports, starts one in a data folder of its
// own, and always stops it, on Ctrl-C too.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient } from '@libsql/client';
import type { Client } from '@libsql/client';
import { RESOURCES } from '../../local/resources.ts';
import { isListening, startStack } from '../../test/support/stack.ts';
import type { RunningStack } from '../../test/support/stack.ts';
import { progress } from './report.ts';

export interface StackSession {
  stack: RunningStack;
  dataDir: string;
  /** The stack's own database file, opened by the bench (WAL: readers and writers coexist). */
  db: Client;
}

const PORTS = [RESOURCES.httpPort, RESOURCES.lambdaPort, RESOURCES.emulatorPort];

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

async function waitForFreePorts(timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const busy = [];
    for (const port of PORTS) if (await isListening(port)) busy.push(port);
    if (busy.length === 0) return;
    if (Date.now() > deadline) throw new Error(`ports ${busy.join(', ')} still in use after ${timeoutMs / 1000} s: stop the other stack (npm start, npm test) and run the bench again`);
    progress(`ports ${busy.join(', ')} in use (another stack or test run?); waiting`);
    await sleep(5_000);
  }
}

export async function withStack<T>(env: Record<string, string>, fn: (session: StackSession) => Promise<T>): Promise<T> {
  await waitForFreePorts(Number(process.env.BENCH_PORT_WAIT_SECONDS ?? 300) * 1000);
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
