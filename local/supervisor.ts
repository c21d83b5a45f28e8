// Starting and stopping a local stack, shared by `npm start` (local/start.ts)
// and `npm run offline:docker` (localstack/offline.ts). Whatever way the
// parent ends, nothing of the stack is left holding a port:
// - Ctrl-C, SIGTERM or SIGHUP: the queue delivery stops (an invocation in
//   flight is aborted and its message simply comes back later), serverless
//   offline gets SIGTERM and, after STOP_GRACE_MS, SIGKILL; then the stop hooks
//   (the emulator) run. The whole stop is bounded by STOP_DEADLINE_MS.
// - A second signal during that stop: serverless offline is killed at once.
// - A start-up error or an uncaught exception: the same stop, exit code 1.
// - The parent killed outright (SIGKILL): serverless offline is not detached
//   and holds a pipe from the parent (local/parent-watchdog.ts); it exits when
//   the pipe closes.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createConnection } from 'node:net';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SQSClient } from '@aws-sdk/client-sqs';
import { PROJECT_ROOT, RESOURCES } from './resources.ts';
import type { StageNames } from './resources.ts';
import { startSqsEventSource } from './sqs-event-source.ts';

const STOP_GRACE_MS = 3_000;
const STOP_DEADLINE_MS = 4_500;
const LIFELINE_FD = 3;
const SIGNAL_ECHO_MS = 1_000;
const CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };

export interface StackPorts {
  http: number;
  lambda: number;
  emulator: number;
  upload: number;
}

/** The ports of resources.json, each overridable (HTTP_PORT, LAMBDA_PORT, EMULATOR_PORT, UPLOAD_PORT) to run a second stack beside the first. */
export function stackPorts(env: NodeJS.ProcessEnv = process.env): StackPorts {
  const port = (name: string, fallback: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 1 || value > 65_535) throw new Error(`${name} must be a port number, got "${raw}"`);
    return value;
  };
  return {
    http: port('HTTP_PORT', RESOURCES.httpPort),
    lambda: port('LAMBDA_PORT', RESOURCES.lambdaPort),
    emulator: port('EMULATOR_PORT', RESOURCES.emulatorPort),
    upload: port('UPLOAD_PORT', RESOURCES.uploadPort),
  };
}

export interface Supervisor {
  log(message: string): void;
  /** Runs when the stack stops, after serverless offline is gone; the last registered runs first. */
  onStop(hook: () => Promise<void> | void): void;
  isStopping(): boolean;
  /** Fails naming the port (and how to choose others) when one is taken. */
  assertPortsFree(ports: Array<[string, number]>): Promise<void>;
  spawnOffline(options: { stage: string; env: NodeJS.ProcessEnv; ports: StackPorts }): void;
  /** Resolves when serverless offline answers HTTP; rejects if the stack stops first. */
  waitForApi(ports: StackPorts, timeoutMs?: number): Promise<void>;
  /** The SQS event sources of the processor and the dead-letter handler, as AWS's event source mappings deliver them. */
  startQueueDelivery(options: { names: StageNames; emulatorUrl: string; region: string; ports: StackPorts }): void;
}

/**
 * Runs `main` under the stack's signal and error handling. `label` prefixes
 * every line the supervisor prints ("[stack] ...").
 */
export function superviseStack(label: string, main: (supervisor: Supervisor) => Promise<void>): void {
  const log = (message: string): void => {
    process.stdout.write(`[${label}] ${message}\n`);
  };
  const hooks: Array<() => Promise<void> | void> = [];
  let offline: ChildProcess | undefined;
  let stopping = false;

  const offlineAlive = (): boolean => offline !== undefined && offline.exitCode === null && offline.signalCode === null;
  const signalOffline = (signal: NodeJS.Signals): void => {
    if (!offlineAlive()) return;
    try {
      offline?.kill(signal);
    } catch {
      // Already gone.
    }
  };

  const stopOffline = async (): Promise<void> => {
    if (!offline || !offlineAlive()) return;
    const exited = new Promise<void>((resolveExit) => offline?.once('exit', () => resolveExit()));
    signalOffline('SIGTERM');
    const done = await Promise.race([exited.then(() => true), sleep(STOP_GRACE_MS, false, { ref: false })]);
    if (!done) {
      signalOffline('SIGKILL');
      await exited;
    }
  };

  const stop = async (code: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log('stopping');
    const started = Date.now();
    // Whatever a hook does, the process ends within the deadline.
    setTimeout(() => {
      signalOffline('SIGKILL');
      log(`stopped (deadline reached after ${Date.now() - started} ms)`);
      process.exit(code);
    }, STOP_DEADLINE_MS).unref();
    for (const hook of [...hooks].reverse()) {
      try {
        await hook();
      } catch (error) {
        log(`while stopping: ${describe(error)}`);
      }
    }
    log(`stopped in ${Date.now() - started} ms`);
    process.exit(code);
  };

  let firstSignalAt = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      // npm passes the terminal's Ctrl-C on to its child a moment after the
      // child got it from the terminal: that echo is not a second Ctrl-C.
      if (Date.now() - firstSignalAt < SIGNAL_ECHO_MS) return;
      // A person's second Ctrl-C: do not wait for anything.
      log(`${signal} again: stopping now`);
      signalOffline('SIGKILL');
      process.exit(130);
    }
    firstSignalAt = Date.now();
    void stop(0);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  process.on('uncaughtException', (error) => {
    process.stderr.write(`[${label}] uncaught exception: ${error.stack ?? String(error)}\n`);
    if (stopping) {
      signalOffline('SIGKILL');
      process.exit(1);
    }
    void stop(1);
  });
  // The last word on any exit path, process.exit included: never leave the child behind.
  process.on('exit', () => signalOffline('SIGKILL'));

  const supervisor: Supervisor = {
    log,
    onStop: (hook) => void hooks.push(hook),
    isStopping: () => stopping,
    async assertPortsFree(ports) {
      for (const [variable, port] of ports) {
        if (await isListening(port)) {
          throw new Error(
            `port ${port} is already in use (another \`npm start\`?). Stop that process, or run this stack on other ports: ${variable}=<port> (HTTP_PORT, LAMBDA_PORT, EMULATOR_PORT, UPLOAD_PORT).`,
          );
        }
      }
    },
    spawnOffline({ stage, env, ports }) {
      const watchdog = pathToFileURL(resolve(PROJECT_ROOT, 'local/parent-watchdog.ts')).href;
      const serverless = resolve(PROJECT_ROOT, 'node_modules/serverless/bin/serverless.js');
      // --noTimeout: serverless offline ends a Lambda that runs past its timeout
      // by terminating its worker thread, and a thread terminated inside a
      // call of libsql's native driver aborts the whole process
      // (test/integration/worker-termination.test.ts). The functions bound
      // their own calls (SDK and database timeouts, the caption timeout, the
      // processor's time check), so they end in time without it.
      const args = ['--import', watchdog, serverless, 'offline', 'start', '--stage', stage, '--httpPort', String(ports.http), '--lambdaPort', String(ports.lambda), '--noTimeout'];
      const child = spawn(process.execPath, args, {
        cwd: PROJECT_ROOT,
        env: { ...env, STACK_LIFELINE_FD: String(LIFELINE_FD) },
        // Not detached: it shares the terminal's process group, so Ctrl-C reaches it too.
        stdio: ['ignore', 'inherit', 'inherit', 'pipe'],
      });
      offline = child;
      hooks.push(stopOffline);
      child.once('exit', (code, signal) => {
        if (!stopping) {
          log(`serverless offline exited (${signal ?? `code ${code}`}); stopping`);
          void stop(1);
        }
      });
      // The parent's end of the lifeline must not keep the parent alive by itself.
      const lifeline = child.stdio[LIFELINE_FD];
      if (lifeline && 'unref' in lifeline && typeof lifeline.unref === 'function') lifeline.unref();
      log(`serverless offline started (pid ${child.pid})`);
    },
    async waitForApi(ports, timeoutMs = 120_000) {
      const url = `http://127.0.0.1:${ports.http}/api/stats`;
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        if (stopping) throw new Error('the stack is stopping');
        try {
          await fetch(url, { signal: AbortSignal.timeout(30_000) });
          return;
        } catch {
          await sleep(200);
        }
      }
      throw new Error(`${url} did not answer within ${timeoutMs / 1000} s`);
    },
    startQueueDelivery({ names, emulatorUrl, region, ports }) {
      const sqs = new SQSClient({ region, endpoint: emulatorUrl, credentials: CREDENTIALS });
      const lambda = new LambdaClient({ region, endpoint: `http://127.0.0.1:${ports.lambda}`, credentials: CREDENTIALS, maxAttempts: 1 });
      const onError = (error: unknown): void => {
        if (!stopping) log(`event source: ${describe(error)}`);
      };
      const arn = (queue: string): string => `arn:aws:sqs:${region}:${RESOURCES.emulatorAccountId}:${queue}`;
      const common = { sqs, lambda, region, onError };
      const sources = [
        startSqsEventSource({ ...common, queueUrl: names.queueUrl, queueArn: arn(names.queue), functionName: names.processorFunction, pollers: 2 }),
        startSqsEventSource({ ...common, queueUrl: names.deadLetterQueueUrl, queueArn: arn(names.deadLetterQueue), functionName: names.deadLetterFunction, pollers: 1 }),
      ];
      // Registered after spawnOffline, so it runs before serverless offline is stopped.
      hooks.push(async () => {
        await Promise.all(sources.map((source) => source.stop()));
        sqs.destroy();
        lambda.destroy();
      });
    },
  };

  main(supervisor).catch((error: unknown) => {
    process.stderr.write(`[${label}] failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
    void stop(1);
  });
}

function describe(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
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
