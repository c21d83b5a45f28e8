// Starts the real local stack exactly as `npm start` does (node local/start.ts),
// in a data folder of the test's own and on free ports of its own, so the tests
// run beside a developer's `npm start` on the default ports. Stops every process
// it started.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { PROJECT_ROOT } from '../../local/resources.ts';
import { isListening } from '../../local/supervisor.ts';
import type { StackPorts } from '../../local/supervisor.ts';

export { isListening };

export interface RunningStack {
  apiUrl: string;
  emulatorUrl: string;
  lambdaUrl: string;
  /** The upload gateway that direct uploads' presigned POSTs point at. */
  uploadUrl: string;
  ports: StackPorts;
  output: () => string;
  /** Ctrl-C and wait: the ports are free when it resolves. */
  stop: () => Promise<void>;
  /** SIGKILL to every process of the stack at once: a power cut, not a shutdown. */
  crash: () => Promise<void>;
  /** The stack's own process (start.ts) and serverless-offline's (whose worker threads run the Lambdas). */
  pids: () => number[];
  /** A signal to the stack's whole process group, as a terminal sends Ctrl-C. */
  signalGroup: (signal: NodeJS.Signals) => void;
  /** Resolves with the exit code (or signal) of start.ts. */
  exited: Promise<number | NodeJS.Signals | null>;
}

export interface StartStackOptions {
  dataDir: string;
  env?: Record<string, string>;
  /** Reuse the ports of an earlier stack (a restart); fresh free ports otherwise. */
  ports?: StackPorts;
  /** Extra node flags for start.ts (a test's --import). */
  nodeArgs?: string[];
  /** Resolve once serverless offline is spawned instead of waiting for "ready". */
  until?: 'ready' | 'spawned';
}

/** Four ports nothing listens on now: each taken by a listener at once, so they differ, then released. */
export async function freePorts(): Promise<StackPorts> {
  const servers = await Promise.all(
    [0, 1, 2, 3].map(
      () =>
        new Promise<import('node:net').Server>((resolveListen, reject) => {
          const server = createServer();
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => resolveListen(server));
        }),
    ),
  );
  const ports = servers.map((server) => {
    const address = server.address();
    return typeof address === 'object' && address ? address.port : 0;
  });
  await Promise.all(servers.map((server) => new Promise((done) => server.close(done))));
  const [http = 0, lambda = 0, emulator = 0, upload = 0] = ports;
  return { http, lambda, emulator, upload };
}

export async function startStack(options: StartStackOptions): Promise<RunningStack> {
  const ports = options.ports ?? (await freePorts());
  const workFolder = `.esbuild/stack-${ports.http}`;
  // The same lifeline as start.ts gives serverless offline: a test run that dies
  // without stopping its stack (SIGKILL, a crash) takes the stack with it.
  const watchdog = ['--import', pathToFileURL(resolve(PROJECT_ROOT, 'local/parent-watchdog.ts')).href];
  const child = spawn(process.execPath, [...watchdog, ...(options.nodeArgs ?? []), resolve(PROJECT_ROOT, 'local/start.ts')], {
    cwd: PROJECT_ROOT,
    env: {
      ...process.env,
      DATA_DIR: options.dataDir,
      HTTP_PORT: String(ports.http),
      LAMBDA_PORT: String(ports.lambda),
      EMULATOR_PORT: String(ports.emulator),
      UPLOAD_PORT: String(ports.upload),
      ESBUILD_WORK_FOLDER: workFolder,
      STACK_LIFELINE_FD: '3',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    // A process group of its own, as a terminal gives `npm start`: signalGroup() is Ctrl-C.
    detached: true,
  });
  const lifeline = child.stdio[3];
  if (lifeline && 'unref' in lifeline && typeof lifeline.unref === 'function') lifeline.unref();
  let output = '';
  let serverlessPid = 0;
  const exited = new Promise<number | NodeJS.Signals | null>((resolveExit) => child.once('exit', (code, signal) => resolveExit(signal ?? code)));
  const marker = options.until === 'spawned' ? 'serverless offline started' : '[stack] ready in';
  const ready = new Promise<void>((resolveReady, reject) => {
    let isReady = false;
    const onData = (chunk: Buffer): void => {
      // A bounded tail: a long run (benchmarks) must not slow down with its own log.
      output = (output + chunk.toString('utf8')).slice(-200_000);
      serverlessPid ||= Number(/serverless offline started \(pid (\d+)\)/.exec(output)?.[1] ?? 0);
      if (!isReady && output.includes(marker)) {
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
  const cleanUp = async (): Promise<void> => {
    await waitForPortsFree(ports, 10_000);
    rmSync(resolve(PROJECT_ROOT, workFolder), { recursive: true, force: true });
  };
  const stack: RunningStack = {
    apiUrl: `http://localhost:${ports.http}`,
    emulatorUrl: `http://127.0.0.1:${ports.emulator}`,
    lambdaUrl: `http://127.0.0.1:${ports.lambda}`,
    uploadUrl: `http://localhost:${ports.upload}`,
    ports,
    output: () => output,
    exited,
    pids: () => [child.pid ?? 0, serverlessPid].filter((pid) => pid > 0),
    signalGroup: (signal) => signalGroup(child, signal),
    stop: async () => {
      await stopChild(child, exited);
      await cleanUp();
    },
    crash: async () => {
      signalGroup(child, 'SIGKILL');
      if (serverlessPid) signalPid(serverlessPid, 'SIGKILL');
      await exited;
      await cleanUp();
    },
  };
  try {
    await Promise.race([ready, timeout]);
  } catch (error) {
    await stack.stop();
    throw error;
  }
  return stack;
}

async function stopChild(child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  signalGroup(child, 'SIGINT');
  const done = await Promise.race([exited.then(() => true), sleep(15_000, false, { ref: false })]);
  if (!done) {
    signalGroup(child, 'SIGKILL');
    await exited;
  }
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid !== undefined) signalPid(-child.pid, signal);
}

function signalPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/** Polls until none of the stack's ports answers; false when the time ran out. */
export async function waitForPortsFree(ports: StackPorts, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const busy = await Promise.all([ports.http, ports.lambda, ports.emulator, ports.upload].map(isListening));
    if (!busy.some(Boolean)) return true;
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
}
