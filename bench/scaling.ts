// Benchmark: does the stack's cost per image depend on how many images it
// already stores? The same round (24 small real photos uploaded one after
// another, each processed to `success`, captions off) is measured on two
// stacks in turn: one on an empty data folder, one holding BENCH_STORED
// (10,000) images uploaded and processed through the API. Per image: CPU of the stack's
// processes (start.ts: emulator and SQS pollers; serverless offline: HTTP and
// Lambdas) and the upload latency. Target: full within 1.2x of empty. Also the
// stack's start-up time on each data folder (the emulator reads every stored
// object's metadata at start) and the size of what is stored.
//   npm run bench:scaling        (BENCH_STORED, BENCH_FILL_CONCURRENCY, BENCH_SCALING_ROUNDS)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient } from '@libsql/client';
import type { Client } from '@libsql/client';
import sharp from 'sharp';
import { listSamples, readSample } from '../test/support/sample-images.ts';
import { startStack } from '../test/support/stack.ts';
import type { RunningStack } from '../test/support/stack.ts';
import { cpuSeconds } from './support/process-cpu.ts';
import { fmt, median, printSection, progress, table, verdict } from './support/report.ts';
import { QUIET_DEV_SERVER } from './support/stack-session.ts';

const STORED = Number(process.env.BENCH_STORED ?? 10_000);
const FILL_CONCURRENCY = Number(process.env.BENCH_FILL_CONCURRENCY ?? 16);
const ROUNDS = Number(process.env.BENCH_SCALING_ROUNDS ?? 5);
const TARGET = 1.2;
const STACK_ENV = { ...QUIET_DEV_SERVER, HF_TOKEN: '', CAPTION_ENDPOINT_URL: '' };

interface Photo {
  name: string;
  bytes: Buffer;
}

interface RoundResult {
  cpuMsPerImage: number;
  uploadMs: number[];
}

interface Measurement {
  stored: number;
  readySeconds: number;
  rounds: RoundResult[];
  dataMiB: number;
  databaseMiB: number;
  logMiB: number;
}

async function upload(apiUrl: string, photo: Photo): Promise<{ ok: boolean; ms: number }> {
  const form = new FormData();
  form.append('file', new Blob([photo.bytes], { type: 'image/jpeg' }), photo.name);
  const started = performance.now();
  const res = await fetch(`${apiUrl}/api/images`, { method: 'POST', body: form });
  await res.arrayBuffer();
  return { ok: res.status === 202, ms: performance.now() - started };
}

async function finished(db: Client): Promise<number> {
  const rs = await db.execute('SELECT success + failed AS done FROM image_counters WHERE id = 1');
  return Number(rs.rows[0]?.done ?? 0);
}

async function waitForFinished(db: Client, count: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await finished(db)) < count) {
    if (Date.now() > deadline) throw new Error(`only ${await finished(db)} of ${count} images finished within ${timeoutMs / 1000} s`);
    await sleep(25);
  }
}

function stackCpu(stack: RunningStack): number {
  return stack.pids().reduce((total, pid) => total + (cpuSeconds(pid) ?? 0), 0);
}

/** One round: every photo uploaded one after another, then until all are finished; CPU per image over both. */
async function round(stack: RunningStack, db: Client, photos: readonly Photo[]): Promise<RoundResult> {
  const before = await finished(db);
  const cpu = stackCpu(stack);
  const uploadMs: number[] = [];
  for (const photo of photos) {
    const result = await upload(stack.apiUrl, photo);
    if (!result.ok) throw new Error(`upload of ${photo.name} was refused`);
    uploadMs.push(result.ms);
  }
  await waitForFinished(db, before + photos.length, 120_000);
  return { cpuMsPerImage: ((stackCpu(stack) - cpu) * 1000) / photos.length, uploadMs };
}

/** Small, distinct JPEGs (about 1-2 kB): the stored images, made quickly. */
async function fillerImage(index: number): Promise<Buffer> {
  const hue = (index * 47) % 360;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="96" height="64"><rect width="96" height="64" fill="hsl(${hue},60%,50%)"/><text x="4" y="40" font-size="20" fill="#fff">${index}</text></svg>`;
  return sharp(Buffer.from(svg)).jpeg({ quality: 70 }).toBuffer();
}

async function fill(stack: RunningStack, db: Client, count: number): Promise<number> {
  const started = performance.now();
  const before = await finished(db);
  let next = 0;
  let refused = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const index = next++;
      const result = await upload(stack.apiUrl, { name: `filler-${index}.jpg`, bytes: await fillerImage(index) });
      if (!result.ok) refused++;
      if ((index + 1) % 1000 === 0) progress(`filled ${index + 1} of ${count} (${((performance.now() - started) / 1000).toFixed(0)} s)`);
    }
  };
  await Promise.all(Array.from({ length: FILL_CONCURRENCY }, worker));
  await waitForFinished(db, before + count - refused, 30 * 60_000);
  progress(`${count - refused} images stored in ${((performance.now() - started) / 1000).toFixed(0)} s (${refused} refused)`);
  return count - refused;
}

function mib(path: string): number {
  try {
    return Number(execFileSync('du', ['-sk', path], { encoding: 'utf8' }).split('\t')[0]) / 1024;
  } catch {
    return Number.NaN;
  }
}

function fileMiB(path: string): number {
  try {
    return statSync(path).size / 1024 / 1024;
  } catch {
    return 0;
  }
}

interface Store {
  label: string;
  dataDir: string;
  stack: RunningStack;
  db: Client;
  readySeconds: number;
  stored: number;
  rounds: RoundResult[];
}

function describeStore(store: Store): Measurement {
  return {
    stored: store.stored,
    readySeconds: store.readySeconds,
    rounds: store.rounds,
    dataMiB: mib(store.dataDir),
    databaseMiB: fileMiB(join(store.dataDir, 'images.db')) + fileMiB(join(store.dataDir, 'images.db-wal')),
    logMiB: fileMiB(join(store.dataDir, 'logs', 'app.log')) + fileMiB(join(store.dataDir, 'logs', 'app.log.1')),
  };
}

async function startTimed(dataDir: string, ports?: RunningStack['ports']): Promise<{ stack: RunningStack; readySeconds: number }> {
  const started = performance.now();
  const stack = await startStack({ dataDir, env: STACK_ENV, ...(ports ? { ports } : {}) });
  return { stack, readySeconds: (performance.now() - started) / 1000 };
}

const names = [...(await listSamples('cameras')), ...(await listSamples('gps'))].slice(0, 24);
const photos: Photo[] = await Promise.all(names.map(async (name) => ({ name: name.replace('/', '_'), bytes: await readSample(name) })));
const workDir = mkdtempSync(join(tmpdir(), 'bench-scaling-'));
const openDb = (dataDir: string): Client => createClient({ url: `file:${join(dataDir, 'images.db')}`, intMode: 'number', timeout: 5_000 });
const stacks: RunningStack[] = [];
const stopAll = (): Promise<unknown> => Promise.all(stacks.map((stack) => stack.stop()));
const interrupted = (): void => {
  void stopAll().finally(() => process.exit(130));
};
process.once('SIGINT', interrupted);
process.once('SIGTERM', interrupted);

async function open(label: string, dataDir: string, ports?: RunningStack['ports']): Promise<Store> {
  const { stack, readySeconds } = await startTimed(dataDir, ports);
  stacks.push(stack);
  const db = openDb(dataDir);
  return { label, dataDir, stack, db, readySeconds, stored: await finished(db), rounds: [] };
}

try {
  // The full store: STORED images uploaded and processed through the API, then a restart,
  // so its figures (start-up included) are those of a user's next `npm start`.
  const fullDir = join(workDir, 'full');
  progress(`storing ${STORED} images in ${fullDir}`);
  const filling = await open('full', fullDir);
  await fill(filling.stack, filling.db, STORED);
  filling.db.close();
  await filling.stack.stop();
  stacks.length = 0;
  const full = await open('full', fullDir, filling.stack.ports);
  const empty = await open('empty', join(workDir, 'empty'));
  // Warm-up of both (the Lambdas' cold starts belong to neither figure), then rounds taken in
  // turn, so a neighbour's load on the machine falls on both figures alike.
  for (const store of [empty, full]) await round(store.stack, store.db, photos.slice(0, 6));
  for (let i = 0; i < ROUNDS; i++) {
    for (const store of [empty, full]) {
      store.rounds.push(await round(store.stack, store.db, photos));
      progress(`${store.label} round ${i + 1}: ${fmt(store.rounds.at(-1)?.cpuMsPerImage)} ms CPU per image`);
    }
  }
  for (const store of [empty, full]) store.db.close();
  const emptyFigures = describeStore(empty);
  const fullFigures = describeStore(full);

  const cpu = (m: Measurement): number => median(m.rounds.map((r) => r.cpuMsPerImage));
  const p50 = (m: Measurement): number => median(m.rounds.flatMap((r) => r.uploadMs));
  const cpuRatio = cpu(fullFigures) / cpu(emptyFigures);
  const p50Ratio = p50(fullFigures) / p50(emptyFigures);
  const row = (label: string, m: Measurement): string[] => [
    label,
    String(m.stored),
    `${fmt(m.dataMiB, 0)} MiB (database ${fmt(m.databaseMiB, 1)} MiB, logs ${fmt(m.logMiB, 1)} MiB)`,
    fmt(cpu(m)),
    m.rounds.map((r) => fmt(r.cpuMsPerImage)).join(', '),
    fmt(p50(m)),
    fmt(m.readySeconds),
  ];
  printSection(
    `Scaling: cost per image with an empty store and with ${STORED} images stored`,
    `Two stacks side by side, one on an empty data folder and one on a folder holding ${STORED} images uploaded and processed through the API (then restarted). ${ROUNDS} rounds each, taken in turn, of ${photos.length} small real photos (2-160 kB) uploaded one after another and processed to success, captions off, after a warm-up; CPU of start.ts + serverless offline. "images stored" is the count before the warm-up and the rounds (each adds its own photos).`,
    table(
      ['data folder', 'images stored', 'on disk', 'CPU ms / image (median)', 'rounds', 'upload p50 ms', 'stack ready in s'],
      [row('empty', emptyFigures), row(`after ${STORED} images`, fullFigures)],
    ),
    table(
      ['figure', 'full / empty', `target ≤ ${TARGET}×`],
      [
        ['CPU per image', `${fmt(cpuRatio, 2)}×`, verdict(cpuRatio <= TARGET)],
        ['upload p50', `${fmt(p50Ratio, 2)}×`, verdict(p50Ratio <= TARGET)],
      ],
    ),
  );
  if (!(cpuRatio <= TARGET && p50Ratio <= TARGET)) process.exitCode = 1;
} finally {
  await stopAll();
  if (process.env.BENCH_KEEP_DATA) progress(`kept the data in ${workDir}`);
  else rmSync(workDir, { recursive: true, force: true });
}
