// Benchmark 2: end-to-end throughput through the running stack (the same
// `node local/start.ts` as `npm start`, started by the bench in a data folder
// of its own). 200 uploads of the real sample photos over HTTP at a fixed
// concurrency; the time until every one is `success`; upload latency and
// upload → success latency (the row's created_at → processed_at). Once with
// captions off, once with a local caption endpoint that answers after 300 ms,
// both through POST /api/images (multipart); and once with captions off through
// direct uploads (POST /api/uploads, then the file to the presigned POST's URL,
// the local upload gateway). Compared with the processing function alone on
// the same images and cores.
//   npm run bench:e2e
// Knobs (experiments): BENCH_UPLOADS (200), BENCH_UPLOAD_CONCURRENCY (8),
// BENCH_RUNS (off,direct,captions), BENCH_STACK_ENV ("PROCESSING_CONCURRENCY=10;UV_THREADPOOL_SIZE=8",
// passed to the stack), BENCH_EXTRA_POLLERS (extra SQS pollers run by the bench
// next to the stack's own, to try more pollers without editing local/start.ts).
import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Client } from '@libsql/client';
import { RESOURCES, stageNames } from '../local/resources.ts';
import { startSqsEventSource } from '../local/sqs-event-source.ts';
import { startFakeCaptionServer } from '../test/support/fake-caption-server.ts';
import { processOnce, realPhotos } from './support/photos.ts';
import type { Photo } from './support/photos.ts';
import { startCpuProbe } from './support/process-cpu.ts';
import { startMemoryProbe } from './support/process-memory.ts';
import { fmt, median, percentile, printSection, progress, table, verdict } from './support/report.ts';
import { QUIET_DEV_SERVER, withStack } from './support/stack-session.ts';
import { SYNTHETIC, syntheticImage } from './support/synthetic-images.ts';

const UPLOADS = Number(process.env.BENCH_UPLOADS ?? 200);
const UPLOAD_CONCURRENCY = Number(process.env.BENCH_UPLOAD_CONCURRENCY ?? 8);
const RUNS = (process.env.BENCH_RUNS ?? 'off,direct,captions').split(',').map((run) => run.trim());
const EXTRA_POLLERS = Number(process.env.BENCH_EXTRA_POLLERS ?? 0);
const STACK_ENV = Object.fromEntries(
  (process.env.BENCH_STACK_ENV ?? '')
    .split(';')
    .map((pair) => pair.trim())
    .filter((pair) => pair.includes('='))
    .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
) as Record<string, string>;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const ALONE_ROUNDS = 3;
const ROUND_TIMEOUT_MS = Number(process.env.BENCH_ROUND_TIMEOUT_SECONDS ?? 90) * 1000;
const CAPTION_DELAY_MS = 300;
const CPU_GROUPS = { 'stack: emulator, upload gateway, SQS pollers': /local\/start\.ts/, 'serverless offline: HTTP + Lambdas': /serverless\.js offline/ };
// As many at once as the timed rounds: serverless-offline starts one worker thread
// (a cold start) per concurrent request, and those belong to the warm-up.
const WARMUP_UPLOADS = Math.max(16, 2 * UPLOAD_CONCURRENCY);
const LARGE_UPLOADS = 20;
const TARGET_OFF = 0.7;
const TARGET_CAPTIONS = 0.5;
const TARGET_UPLOAD_P50_MS = 100;
const TARGET_DIRECT = 0.6;
const TARGET_DIRECT_P50_MS = 60;

/** Runs tasks with at most `concurrency` at once; results in input order. */
async function pool<T, R>(items: readonly T[], concurrency: number, task: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}

interface AloneResult {
  concurrency: number;
  imagesPerSecond: number;
  cpuMsPerImage: number;
}

/**
 * The processing function alone, in this process, on the same images, at a
 * few concurrencies; each the best of a few rounds, so that a neighbour's
 * burst on a shared machine does not flatter the end-to-end ratio.
 */
async function processingAlone(images: readonly Photo[]): Promise<AloneResult[]> {
  for (const photo of images.slice(0, 20)) await processOnce(photo.bytes);
  const results: AloneResult[] = [];
  for (const concurrency of [1, 2, 4, 8]) {
    let best: AloneResult | undefined;
    for (let round = 0; round < ALONE_ROUNDS; round++) {
      const started = performance.now();
      const cpu = process.cpuUsage();
      await pool(images, concurrency, (photo) => processOnce(photo.bytes));
      const used = process.cpuUsage(cpu);
      const result = { concurrency, imagesPerSecond: images.length / ((performance.now() - started) / 1000), cpuMsPerImage: (used.user + used.system) / 1000 / images.length };
      if (!best || result.imagesPerSecond > best.imagesPerSecond) best = result;
    }
    if (best) results.push(best);
  }
  return results;
}

interface UploadResult {
  /** null when the upload was refused or failed: counted, not fatal to the run. */
  id: string | null;
  ms: number;
  /** Direct uploads: the two steps, POST /api/uploads and the file to the presigned POST. */
  steps?: { requestMs: number; sendMs: number };
}

type UploadPath = 'multipart' | 'direct';

function uploader(path: UploadPath, stack: { apiUrl: string }): (name: string, bytes: Buffer) => Promise<UploadResult> {
  return path === 'direct' ? (name, bytes) => uploadDirect(stack.apiUrl, name, bytes) : (name, bytes) => upload(stack.apiUrl, name, bytes);
}

/** The two steps of a direct upload, as a client makes them. */
async function uploadDirect(apiUrl: string, name: string, bytes: Buffer): Promise<UploadResult> {
  const started = performance.now();
  try {
    const filename = name.replaceAll('/', '_');
    const res = await fetch(`${apiUrl}/api/uploads`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ filename, size_bytes: bytes.length, content_type: name.endsWith('.png') ? 'image/png' : 'image/jpeg' }),
    });
    const text = await res.text();
    const requested = performance.now();
    if (res.status !== 201) {
      progress(`upload request for ${name} answered ${res.status}: ${text.slice(0, 200)}`);
      return { id: null, ms: requested - started };
    }
    const { data } = JSON.parse(text) as { data: { image_id: string; upload: { url: string; fields: Record<string, string> } } };
    const form = new FormData();
    for (const [field, value] of Object.entries(data.upload.fields)) form.append(field, value);
    form.append('file', new Blob([bytes]), filename);
    const sent = await fetch(data.upload.url, { method: 'POST', body: form });
    await sent.arrayBuffer();
    const done = performance.now();
    if (sent.status !== 204) {
      progress(`file of ${name} answered ${sent.status}`);
      return { id: null, ms: done - started };
    }
    return { id: data.image_id, ms: done - started, steps: { requestMs: requested - started, sendMs: done - requested } };
  } catch (error) {
    progress(`direct upload of ${name} failed: ${error instanceof Error ? error.message : String(error)}`);
    return { id: null, ms: performance.now() - started };
  }
}

async function upload(apiUrl: string, name: string, bytes: Buffer): Promise<UploadResult> {
  const form = new FormData();
  form.append('file', new Blob([bytes], { type: 'image/jpeg' }), name.replaceAll('/', '_'));
  const started = performance.now();
  try {
    const res = await fetch(`${apiUrl}/api/images`, { method: 'POST', body: form });
    const text = await res.text();
    const ms = performance.now() - started;
    const id = res.status === 202 ? ((JSON.parse(text) as { data?: { image_id?: string } }).data?.image_id ?? null) : null;
    if (id === null) progress(`upload of ${name} answered ${res.status}: ${text.slice(0, 200)}`);
    return { id, ms };
  } catch (error) {
    progress(`upload of ${name} failed: ${error instanceof Error ? error.message : String(error)}`);
    return { id: null, ms: performance.now() - started };
  }
}

const accepted = (uploads: readonly UploadResult[]): string[] => uploads.flatMap((u) => (u.id === null ? [] : [u.id]));

async function finishedCount(db: Client): Promise<number> {
  const rs = await db.execute('SELECT success + failed AS done FROM image_counters WHERE id = 1');
  return Number(rs.rows[0]?.done ?? 0);
}

/** false when the count was not reached in time: reported, not fatal, so one stuck message does not lose the whole run. */
async function waitForFinished(db: Client, count: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while ((await finishedCount(db)) < count) {
    if (Date.now() > deadline) {
      progress(`only ${await finishedCount(db)} of ${count} images finished within ${timeoutMs / 1000} s; going on`);
      return false;
    }
    await sleep(25);
  }
  return true;
}

interface RunResult {
  label: string;
  imagesPerSecond: number;
  totalSeconds: number;
  uploadMs: number[];
  toSuccessMs: number[];
  failed: number;
  refused: number;
  /** Accepted but neither success nor failed when the round timed out. */
  unfinished: number;
  largeUploadMs: number[];
  idleLargeUploadMs: number[];
  /** Direct uploads on an idle stack: each step of the two. */
  idleLargeSteps: Array<{ requestMs: number; sendMs: number }>;
  cpuSeconds: Record<string, number>;
  /** The stack's largest summed RSS over all timed rounds, MiB. */
  peakRssMiB: number;
  /** images/s of every round; the figures are the best round's. */
  rounds: number[];
}

async function runThroughput(label: string, images: readonly Photo[], env: Record<string, string>, measureLargeUploads: boolean, path: UploadPath = 'multipart'): Promise<RunResult> {
  return withStack({ ...QUIET_DEV_SERVER, ...env, ...STACK_ENV }, async ({ stack, db }) => {
    const send = uploader(path, stack);
    let extraPollers: { stop(): Promise<void> } | undefined;
    const clients: Array<{ destroy(): void }> = [];
    if (EXTRA_POLLERS > 0) {
      const names = stageNames('local', stack.emulatorUrl);
      const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
      const sqs = new SQSClient({ region: 'us-east-1', endpoint: stack.emulatorUrl, credentials });
      const lambda = new LambdaClient({ region: 'us-east-1', endpoint: stack.lambdaUrl, credentials, maxAttempts: 1 });
      clients.push(sqs, lambda);
      extraPollers = startSqsEventSource({
        sqs,
        lambda,
        queueUrl: names.queueUrl,
        queueArn: `arn:aws:sqs:us-east-1:${RESOURCES.emulatorAccountId}:${names.queue}`,
        region: 'us-east-1',
        functionName: names.processorFunction,
        pollers: EXTRA_POLLERS,
      });
    }
    try {
      // Warm-up: every Lambda involved has had its cold start before the clock runs.
      progress(`${label}: warm-up (${WARMUP_UPLOADS} uploads)`);
      const warm = await pool(images.slice(0, WARMUP_UPLOADS), UPLOAD_CONCURRENCY, (photo) => send(photo.name, photo.bytes));
      await waitForFinished(db, accepted(warm).length, 120_000);

      let best: Omit<RunResult, 'largeUploadMs' | 'idleLargeUploadMs' | 'idleLargeSteps' | 'rounds' | 'peakRssMiB'> | undefined;
      const rounds: number[] = [];
      let peakRssMiB = 0;
      for (let round = 1; round <= ROUNDS; round++) {
        const before = await finishedCount(db);
        progress(`${label}: round ${round}/${ROUNDS}, ${images.length} uploads at concurrency ${UPLOAD_CONCURRENCY}`);
        const probe = startCpuProbe(CPU_GROUPS);
        const memory = startMemoryProbe(CPU_GROUPS);
        const startedAt = Date.now();
        const uploads = await pool(images, UPLOAD_CONCURRENCY, (photo) => send(photo.name, photo.bytes));
        const ids = accepted(uploads);
        const complete = await waitForFinished(db, before + ids.length, ROUND_TIMEOUT_MS);
        const cpuSeconds = probe.read();
        peakRssMiB = Math.max(peakRssMiB, memory.stop());

        const rs = await db.execute({
          sql: 'SELECT status, created_at, processed_at FROM images WHERE id IN (SELECT value FROM json_each(?))',
          args: [JSON.stringify(ids)],
        });
        const rows = rs.rows
          .map((row) => ({ status: String(row.status), created: Date.parse(String(row.created_at)), processed: row.processed_at == null ? Number.NaN : Date.parse(String(row.processed_at)) }))
          .filter((row) => !Number.isNaN(row.processed));
        // A round with images still unfinished has no "time until all are success": it never becomes the best round.
        const totalSeconds = complete ? (Math.max(...rows.map((row) => row.processed)) - startedAt) / 1000 : Number.NaN;
        const result = {
          label,
          imagesPerSecond: images.length / totalSeconds,
          totalSeconds,
          uploadMs: uploads.filter((u) => u.id !== null).map((u) => u.ms),
          toSuccessMs: rows.map((row) => row.processed - row.created),
          failed: rows.filter((row) => row.status !== 'success').length,
          refused: uploads.length - ids.length,
          unfinished: ids.length - rows.length,
          cpuSeconds,
        };
        rounds.push(result.imagesPerSecond);
        if (!best || Number.isNaN(best.imagesPerSecond) || result.imagesPerSecond > best.imagesPerSecond) best = result;
      }
      if (!best) throw new Error('BENCH_ROUNDS must be at least 1');

      const largeUploadMs: number[] = [];
      const idleLargeUploadMs: number[] = [];
      const idleLargeSteps: Array<{ requestMs: number; sendMs: number }> = [];
      if (measureLargeUploads) {
        const path = await syntheticImage(SYNTHETIC.jpeg12);
        const bytes = await readFile(path);
        progress(`${label}: ${LARGE_UPLOADS} uploads of a ${(bytes.length / 1e6).toFixed(1)} MB photo back to back, then ${LARGE_UPLOADS} on an idle stack`);
        let before = await finishedCount(db);
        // Back to back: each upload overlaps the processing of the one before, as a user's batch would.
        const large = [await send('large-warmup.jpg', bytes)];
        for (let i = 0; i < LARGE_UPLOADS; i++) {
          const result = await send(`large-${i}.jpg`, bytes);
          large.push(result);
          if (result.id !== null) largeUploadMs.push(result.ms);
        }
        await waitForFinished(db, before + accepted(large).length, ROUND_TIMEOUT_MS);
        // Idle: the next upload waits until the previous image is processed; the upload's own cost.
        for (let i = 0; i < LARGE_UPLOADS; i++) {
          before = await finishedCount(db);
          const result = await send(`idle-${i}.jpg`, bytes);
          if (result.id !== null) {
            idleLargeUploadMs.push(result.ms);
            if (result.steps) idleLargeSteps.push(result.steps);
            await waitForFinished(db, before + 1, 60_000);
          }
        }
      }
      return { ...best, largeUploadMs, idleLargeUploadMs, idleLargeSteps, rounds, peakRssMiB };
    } finally {
      await extraPollers?.stop();
      for (const client of clients) client.destroy();
    }
  });
}

async function main(): Promise<void> {
  const photos = await realPhotos();
  if (photos.length === 0) throw new Error('the end-to-end bench needs the test photos of test/fixtures/images');
  const images = Array.from({ length: UPLOADS }, (_, i) => photos[i % photos.length] as Photo);
  const totalMb = images.reduce((total, photo) => total + photo.bytes.length, 0) / 1e6;

  progress(`processing function alone on the same ${images.length} images`);
  const alone = await processingAlone(images);
  const best = alone.reduce((a, b) => (b.imagesPerSecond > a.imagesPerSecond ? b : a));

  const results: RunResult[] = [];
  if (RUNS.includes('off')) results.push(await runThroughput('captions off', images, {}, true));
  if (RUNS.includes('direct')) results.push(await runThroughput('direct uploads, captions off', images, {}, true, 'direct'));
  if (RUNS.includes('captions')) {
    const captions = await startFakeCaptionServer();
    captions.setBehaviour({ kind: 'caption', text: 'a photo on a bench', delayMs: CAPTION_DELAY_MS });
    try {
      results.push(await runThroughput(`captions ${CAPTION_DELAY_MS} ms`, images, { CAPTION_ENDPOINT_URL: captions.url }, false));
    } finally {
      await captions.close();
    }
  }

  const rows = [
    ...alone.map((a) => [`processing function alone, ${a.concurrency} at a time`, fmt(a.imagesPerSecond), a === best ? '100% (best)' : `${((a.imagesPerSecond / best.imagesPerSecond) * 100).toFixed(0)}%`, '', '', '', '', '', '', '']),
    ...results.map((r) => [
      `end to end, ${r.label}`,
      `${fmt(r.imagesPerSecond)}${r.rounds.length > 1 ? ` (rounds: ${r.rounds.map((x) => fmt(x)).join(', ')})` : ''}`,
      `${((r.imagesPerSecond / best.imagesPerSecond) * 100).toFixed(0)}%`,
      fmt(r.totalSeconds, 2),
      fmt(median(r.uploadMs), 0),
      fmt(percentile(r.uploadMs, 99), 0),
      fmt(median(r.toSuccessMs), 0),
      fmt(percentile(r.toSuccessMs, 99), 0),
      `${r.failed}${r.refused > 0 ? `, ${r.refused} uploads refused` : ''}${r.unfinished > 0 ? `, ${r.unfinished} unfinished after ${ROUND_TIMEOUT_MS / 1000} s` : ''}`,
      fmt(r.peakRssMiB, 0),
    ]),
  ];
  const groups = [...Object.keys(CPU_GROUPS), 'bench client'];
  const cpuRows = [
    ['processing function alone', ...groups.map(() => ''), fmt(best.cpuMsPerImage), fmt(best.cpuMsPerImage)],
    ...results.map((r) => {
      const perImage = (seconds: number): string => fmt((seconds * 1000) / UPLOADS);
      const total = groups.reduce((sum, group) => sum + (r.cpuSeconds[group] ?? 0), 0);
      return [`end to end, ${r.label}`, ...groups.map((group) => perImage(r.cpuSeconds[group] ?? 0)), '', perImage(total)];
    }),
  ];
  const off = results.find((r) => r.label === 'captions off');
  const direct = results.find((r) => r.label.startsWith('direct uploads'));
  const slow = results.find((r) => r.label.startsWith('captions ') && r !== off);
  const share = (r: RunResult | undefined): number | null => (r ? r.imagesPerSecond / best.imagesPerSecond : null);
  const largeP50 = off && off.largeUploadMs.length > 0 ? median(off.largeUploadMs) : null;
  const idleP50 = off && off.idleLargeUploadMs.length > 0 ? median(off.idleLargeUploadMs) : null;
  const directIdleP50 = direct && direct.idleLargeUploadMs.length > 0 ? median(direct.idleLargeUploadMs) : null;
  const directSteps = direct?.idleLargeSteps ?? [];
  const stepsNote =
    directSteps.length > 0
      ? `; steps p50: request ${median(directSteps.map((s) => s.requestMs)).toFixed(0)} ms, file ${median(directSteps.map((s) => s.sendMs)).toFixed(0)} ms`
      : '';
  const targetRows = [
    [`captions off ≥ ${TARGET_OFF * 100}% of the processing function alone`, share(off) === null ? 'n/a' : `${((share(off) ?? 0) * 100).toFixed(0)}%`, verdict(share(off) === null ? null : (share(off) ?? 0) >= TARGET_OFF)],
    [`captions ${CAPTION_DELAY_MS} ms ≥ ${TARGET_CAPTIONS * 100}%`, share(slow) === null ? 'n/a' : `${((share(slow) ?? 0) * 100).toFixed(0)}%`, verdict(share(slow) === null ? null : (share(slow) ?? 0) >= TARGET_CAPTIONS)],
    [
      `upload p50 < ${TARGET_UPLOAD_P50_MS} ms for a 4 MB photo, back to back`,
      largeP50 === null ? 'n/a' : `${largeP50.toFixed(0)} ms (p99 ${percentile(off?.largeUploadMs ?? [], 99).toFixed(0)} ms)`,
      verdict(largeP50 === null ? null : largeP50 < TARGET_UPLOAD_P50_MS),
    ],
    [
      `upload p50 < ${TARGET_UPLOAD_P50_MS} ms for a 4 MB photo, idle stack`,
      idleP50 === null ? 'n/a' : `${idleP50.toFixed(0)} ms (p99 ${percentile(off?.idleLargeUploadMs ?? [], 99).toFixed(0)} ms)`,
      verdict(idleP50 === null ? null : idleP50 < TARGET_UPLOAD_P50_MS),
    ],
    [
      `direct uploads, captions off ≥ ${TARGET_DIRECT * 100}% of the processing function alone`,
      share(direct) === null ? 'n/a' : `${((share(direct) ?? 0) * 100).toFixed(0)}%`,
      verdict(share(direct) === null ? null : (share(direct) ?? 0) >= TARGET_DIRECT),
    ],
    [
      `the two steps of a 4 MB direct upload p50 < ${TARGET_DIRECT_P50_MS} ms, idle stack`,
      directIdleP50 === null ? 'n/a' : `${directIdleP50.toFixed(0)} ms (p99 ${percentile(direct?.idleLargeUploadMs ?? [], 99).toFixed(0)} ms${stepsNote})`,
      verdict(directIdleP50 === null ? null : directIdleP50 < TARGET_DIRECT_P50_MS),
    ],
  ];
  const knobs = [
    `upload concurrency ${UPLOAD_CONCURRENCY}`,
    `${UPLOADS} uploads of ${photos.length} distinct sample photos (${totalMb.toFixed(1)} MB in all) after ${WARMUP_UPLOADS} warm-up uploads`,
    `stack env: ${Object.keys(STACK_ENV).length > 0 ? Object.entries(STACK_ENV).map(([k, v]) => `${k}=${v}`).join(' ') : 'defaults (PROCESSING_CONCURRENCY=4, 2 SQS pollers, batches of 10, LOG_LEVEL=info)'}` +
      ` with serverless-offline's per-request notices off (${Object.entries(QUIET_DEV_SERVER).map(([k, v]) => `${k}=${v}`).join(' ')})`,
    ...(EXTRA_POLLERS > 0 ? [`${EXTRA_POLLERS} extra SQS pollers run by the bench`] : []),
  ].join('; ');
  printSection(
    'End-to-end throughput through the local stack',
    `${knobs}. Each end-to-end run: ${ROUNDS} timed rounds on the same warm stack, figures from the best round; the processing function alone: the best of ${ALONE_ROUNDS} rounds per concurrency. Time to all success: first upload sent → last row's processed_at. Upload → success: the row's created_at → processed_at. ` +
      `The 4 MB upload figures (captions off, after the throughput rounds): the synthetic 12 MP JPEG uploaded ${LARGE_UPLOADS} times back to back (each upload overlaps the processing of the one before), ` +
      `then ${LARGE_UPLOADS} times on an idle stack (each after the previous image is processed). ` +
      'Peak stack RSS: the largest sum of the stack processes\' resident memory (serverless offline with its Lambda worker threads, the emulator, upload gateway and SQS pollers), sampled every 50 ms during the timed rounds. ' +
      'Direct uploads: upload latency is both steps (POST /api/uploads, then the file to the presigned POST, answered by the local upload gateway once the object is stored and its notification sent); upload → success starts at the first step.',
    table(['run', 'images/s', 'of alone', 'time to all success s', 'upload p50 ms', 'upload p99 ms', 'upload→success p50 ms', 'upload→success p99 ms', 'not success', 'peak stack RSS MiB'], rows),
    table(['target', 'measured', 'verdict'], targetRows),
    'CPU ms per image during the timed part (user + system, all threads, from /proc; the bench client is this process: uploads and polling):',
    table(['run', ...groups, 'processing', 'total'], cpuRows),
  );
}

await main();
