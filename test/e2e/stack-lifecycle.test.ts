// Every way `npm start` can end leaves no process of the stack behind and its
// ports free, so the next start works: Ctrl-C once and twice (SIGINT to the
// process group, as a terminal sends it), SIGTERM, SIGHUP (a closed terminal),
// SIGKILL of start.ts alone, a start-up error after serverless offline was
// spawned, an uncaught exception, and Ctrl-C while an invocation is in flight.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import sharp from 'sharp';
import { PROJECT_ROOT } from '../../local/resources.ts';
import { startFakeCaptionServer } from '../support/fake-caption-server.ts';
import type { FakeCaptionServer } from '../support/fake-caption-server.ts';
import { freePorts, startStack, waitForPortsFree } from '../support/stack.ts';
import type { RunningStack } from '../support/stack.ts';

const FAULT = ['--import', pathToFileURL(resolve(PROJECT_ROOT, 'test/support/stack-fault.ts')).href];
const QUIET = { SLS_LOG_LEVEL: 'warning' };

/** Alive and not a zombie: a dead child whose new parent never reaps it holds no port and no CPU. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

async function allGone(stack: RunningStack, timeoutMs: number, started = Date.now()): Promise<{ ms: number; free: boolean; survivors: number[] }> {
  const free = await waitForPortsFree(stack.ports, timeoutMs);
  let survivors = stack.pids().filter(alive);
  while (survivors.length > 0 && Date.now() - started < timeoutMs) {
    await sleep(50);
    survivors = stack.pids().filter(alive);
  }
  return { ms: Date.now() - started, free, survivors };
}

describe('stack lifecycle: every ending frees the ports', { timeout: 600_000 }, () => {
  const workDir = mkdtempSync(join(tmpdir(), 'imageprocessingapi-lifecycle-'));
  let n = 0;
  const dataDir = (): string => join(workDir, `data-${++n}`);
  const timings: Record<string, number> = {};

  after(() => {
    rmSync(workDir, { recursive: true, force: true });
    console.log(`stop times (ms, until ports free and no process left): ${JSON.stringify(timings)}`);
  });

  const endings: Array<{ name: string; end: (stack: RunningStack) => Promise<void> | void; budgetMs: number }> = [
    { name: 'Ctrl-C once (SIGINT to the group)', end: (stack) => stack.signalGroup('SIGINT'), budgetMs: 5_000 },
    {
      name: 'Ctrl-C twice',
      end: async (stack) => {
        stack.signalGroup('SIGINT');
        await sleep(50);
        stack.signalGroup('SIGINT');
      },
      budgetMs: 5_000,
    },
    { name: 'SIGTERM to the group', end: (stack) => stack.signalGroup('SIGTERM'), budgetMs: 5_000 },
    { name: 'SIGHUP to the group (terminal closed)', end: (stack) => stack.signalGroup('SIGHUP'), budgetMs: 5_000 },
    {
      name: 'SIGKILL of start.ts alone',
      end: (stack) => {
        const [startPid] = stack.pids();
        assert.ok(startPid);
        process.kill(startPid, 'SIGKILL');
      },
      budgetMs: 10_000,
    },
  ];

  for (const ending of endings) {
    test(`stack ended by ${ending.name} → no process left and ports free within ${ending.budgetMs / 1000} s`, async () => {
      const stack = await startStack({ dataDir: dataDir(), env: QUIET });
      assert.equal(stack.pids().length, 2, 'start.ts and serverless offline are known');
      const signalled = Date.now();
      await ending.end(stack);
      const result = await allGone(stack, 10_000, signalled);
      timings[ending.name] = result.ms;
      assert.ok(result.free, `ports still in use:\n${stack.output().slice(-2000)}`);
      assert.deepEqual(result.survivors, [], 'processes left behind');
      assert.ok(result.ms <= ending.budgetMs, `took ${result.ms} ms`);
      await stack.stop();
    });
  }

  test('start-up error after serverless offline was spawned → start.ts exits 1, no process left, ports free', async () => {
    const ports = await freePorts();
    const started = Date.now();
    await assert.rejects(
      startStack({ dataDir: dataDir(), ports, env: { ...QUIET, STACK_FAULT: 'throw-after-spawn' }, nodeArgs: FAULT }),
      /stack exited with code 1 before it was ready[\s\S]*injected start-up failure/,
    );
    assert.ok(await waitForPortsFree(ports, 10_000));
    timings['start-up error (whole run)'] = Date.now() - started;
  });

  test('uncaught exception once ready → start.ts exits 1, no process left, ports free within 5 s', async () => {
    const stack = await startStack({ dataDir: dataDir(), env: { ...QUIET, STACK_FAULT: 'uncaught-after-ready' }, nodeArgs: FAULT });
    const thrown = Date.now();
    assert.equal(await stack.exited, 1);
    const result = await allGone(stack, 10_000, thrown);
    timings['uncaught exception'] = result.ms;
    assert.ok(result.free);
    assert.deepEqual(result.survivors, []);
    assert.match(stack.output(), /uncaught exception: Error: injected uncaught exception/);
    await stack.stop();
  });

  describe('Ctrl-C while the processor is inside an image', () => {
    let captions: FakeCaptionServer;
    before(async () => {
      captions = await startFakeCaptionServer();
    });
    after(() => captions.close());

    test('in-flight invocation → stopped within 5 s; the next start on the same ports delivers the message again and the image ends success', async () => {
      const dir = dataDir();
      // The caption step hangs far longer than the stop may take.
      captions.setBehaviour({ kind: 'caption', text: 'slow', delayMs: 60_000 });
      const env = { ...QUIET, CAPTION_ENDPOINT_URL: captions.url, CAPTION_TIMEOUT_MS: '30000', QUEUE_VISIBILITY_TIMEOUT_SECONDS: '2' };
      let stack = await startStack({ dataDir: dir, env });
      const photo = await sharp({ create: { width: 640, height: 480, channels: 3, background: '#3a6' } }).jpeg().toBuffer();
      const form = new FormData();
      form.append('file', new Blob([photo]), 'in-flight.jpg');
      const res = await fetch(`${stack.apiUrl}/api/images`, { method: 'POST', body: form });
      assert.equal(res.status, 202);
      const id = ((await res.json()) as { data: { image_id: string } }).data.image_id;
      const deadline = Date.now() + 30_000;
      while (captions.requests.length === 0 && Date.now() < deadline) await sleep(50);
      assert.equal(captions.requests.length, 1, 'the processor is waiting for its caption');

      const signalled = Date.now();
      stack.signalGroup('SIGINT');
      const result = await allGone(stack, 10_000, signalled);
      timings['Ctrl-C with an invocation in flight'] = result.ms;
      assert.ok(result.free);
      assert.deepEqual(result.survivors, []);
      assert.ok(result.ms <= 5_000, `took ${result.ms} ms`);
      await stack.stop();

      captions.setBehaviour({ kind: 'caption', text: 'delivered again' });
      stack = await startStack({ dataDir: dir, env, ports: stack.ports });
      try {
        const until = Date.now() + 60_000;
        let detail: { status: string; caption: string | null; error: string | null };
        for (;;) {
          detail = ((await (await fetch(`${stack.apiUrl}/api/images/${id}`)).json()) as { data: typeof detail }).data;
          if (detail.status === 'success' || detail.status === 'failed' || Date.now() > until) break;
          await sleep(200);
        }
        assert.equal(detail.status, 'success', detail.error ?? '');
        assert.equal(detail.caption, 'delivered again');
      } finally {
        await stack.stop();
      }
    });
  });
});
