// Starts the real local stack exactly as `npm start` does (node local/start.ts),
// in a data folder of the test's own, and stops every process it started.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createConnection } from 'node:net';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PROJECT_ROOT, RESOURCES } from '../../local/resources.ts';

export interface RunningStack {
  apiUrl: string;
  output: () => string;
  stop: () => Promise<void>;
  /** SIGKILL to every process of the stack at once: a power cut, not a shutdown. */
  crash: () => Promise<void>;
  /** The stack's own process and serverless-offline's (whose worker threads run the Lambdas). */
  pids: () => number[];
}

const PORTS = [RESOURCES.httpPort, RESOURCES.lambdaPort, RESOURCES.emulatorPort];

export async function startStack(options: { dataDir: string; env?: Record<string, string> }): Promise<RunningStack> {
  for (const port of PORTS) {
    if (await isListening(port)) throw new Error(`port ${port} is already in use: stop the other stack (npm start) before running the tests`);
  }
  const child = spawn(process.execPath, [resolve(PROJECT_ROOT, 'local/start.ts')], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, DATA_DIR: options.dataDir, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  let serverlessPid = 0;
  const offlinePid = (): number => serverlessPid;
  const exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));
  const ready = new Promise<void>((resolveReady, reject) => {
    let isReady = false;
    const onData = (chunk: Buffer): void => {
      // A bounded tail: a long run (benchmarks) must not slow down with its own log.
      output = (output + chunk.toString('utf8')).slice(-200_000);
      serverlessPid ||= Number(/serverless offline started \(pid (\d+)\)/.exec(output)?.[1] ?? 0);
      if (!isReady && output.includes('[stack] ready in')) {
        isReady = true;
        resolveReady();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`stack exited with code ${code} before it was ready:\n${output}`)));
  });
  const timeout = sleep(180_000, undefined, { ref: false }).then(() => {
    throw new Error(`stack not ready within 180 s:\n${output}`);
  });
  try {
    await Promise.race([ready, timeout]);
  } catch (error) {
    await stopChild(child, exited);
    throw error;
  }
  return {
    apiUrl: `http://localhost:${RESOURCES.httpPort}`,
    output: () => output,
    stop: () => stopChild(child, exited),
    pids: () => [child.pid ?? 0, offlinePid()].filter((pid) => pid > 0),
    async crash() {
      for (const pid of [child.pid, offlinePid()]) {
        if (!pid) continue;
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await exited;
      for (let i = 0; i < 100 && (await anyListening()); i++) await sleep(100);
    },
  };
}

async function stopChild(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGTERM');
    const done = await Promise.race([exited.then(() => true), sleep(15_000, undefined, { ref: false }).then(() => false)]);
    if (!done && child.pid !== undefined) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
      await exited;
    }
  }
  // The stack kills its own serverless-offline group; make sure the ports are free before the next start.
  for (let i = 0; i < 50 && (await anyListening()); i++) await sleep(100);
}

async function anyListening(): Promise<boolean> {
  const results = await Promise.all(PORTS.map(isListening));
  return results.some(Boolean);
}

export function isListening(port: number): Promise<boolean> {
  return new Promise((resolveCheck) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolveCheck(true);
    });
    socket.once('error', () => resolveCheck(false));
  });
}
