// Benchmark 3: read API latency with autocannon against list, detail,
// thumbnail and stats at 1,000 and 100,000 rows. The rows are seeded
// straight into the running stack's database file (the triggers keep the
// stats counters right), plus one real photo uploaded and processed, for the
// detail and thumbnail routes.
//   npm run bench:read
// Knobs: BENCH_READ_SECONDS (5 per route), BENCH_READ_CONNECTIONS (1,10).
import { setTimeout as sleep } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import type { Client } from '@libsql/client';
import { aggregateStats, createImagesRepository } from '../lib/db/images-repository.ts';
import type { ListCursor } from '../lib/db/images-repository.ts';
import { decodeCursor } from '../lib/image-queries.ts';
import { readSample } from '../test/support/sample-images.ts';
import { fmt, percentile, printSection, progress, ratio, table, verdict } from './support/report.ts';
import { QUIET_DEV_SERVER, withStack } from './support/stack-session.ts';

const SECONDS = Number(process.env.BENCH_READ_SECONDS ?? 5);
const CONNECTIONS = (process.env.BENCH_READ_CONNECTIONS ?? '1,10').split(',').map(Number);
const QUERY_REPEATS = 300;
const SIZES = [1_000, 100_000];
const TARGET_P99_MS = 50;
const TARGET_STATS_RATIO = 1.5;

interface RouteResult {
  rows: number;
  connections: number;
  route: string;
  requestsPerSecond: number;
  /**
   * Mean latency from Little's law (connections / throughput): autocannon keeps
   * whole milliseconds, so its own mean of sub-millisecond answers is mostly 0.
   */
  mean: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
}

/**
 * Rows as the pipeline leaves them (mostly success with EXIF, some failed,
 * a few queued), one second apart, older than the real photo, in one
 * statement: 100,000 rows take about a second.
 */
async function seed(db: Client, count: number, offset: number): Promise<void> {
  const exif = JSON.stringify({
    Make: 'Bench',
    Model: 'Synthetic camera',
    Orientation: 1,
    XResolution: 72,
    YResolution: 72,
    ResolutionUnit: 2,
    Software: 'bench',
    DateTime: '2026:01:01 12:00:00',
    ExposureTime: 0.008,
    FNumber: 2.8,
    ISO: 100,
    DateTimeOriginal: '2026:01:01 12:00:00',
    FocalLength: 35,
    ColorSpace: 1,
    ExifImageWidth: 4000,
    ExifImageHeight: 3000,
  });
  await db.execute({
    sql: `WITH RECURSIVE seq(n) AS (SELECT ? UNION ALL SELECT n + 1 FROM seq WHERE n < ?),
          gen AS (SELECT n, lower(hex(randomblob(16))) AS h,
                         strftime('%Y-%m-%dT%H:%M:%fZ', '2025-01-01', '+' || n || ' seconds') AS at,
                         CASE WHEN n % 20 = 0 THEN 'failed' WHEN n % 20 = 1 THEN 'queued' ELSE 'success' END AS status
                  FROM seq)
          INSERT INTO images (id, original_name, status, created_at, updated_at, processed_at, original_key, content_type, size_bytes,
                              width, height, format, exif, caption, caption_status, processing_time_ms, error, attempts)
          SELECT substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-4' || substr(h, 14, 3) || '-a' || substr(h, 18, 3) || '-' || substr(h, 21, 12),
                 'photo-' || n || '.jpg', status, at, at,
                 CASE WHEN status = 'queued' THEN NULL ELSE at END,
                 'originals/seed-' || n || '.jpg', 'image/jpeg', 3000000 + n % 1000000,
                 CASE WHEN status = 'success' THEN 4000 END, CASE WHEN status = 'success' THEN 3000 END,
                 CASE WHEN status = 'success' THEN 'jpg' END, CASE WHEN status = 'success' THEN ? END,
                 NULL, CASE WHEN status = 'queued' THEN 'pending' ELSE 'off' END,
                 CASE WHEN status = 'queued' THEN NULL ELSE 50 + n % 400 END,
                 CASE WHEN status = 'failed' THEN 'Image is corrupt or truncated' END,
                 CASE WHEN status = 'queued' THEN 0 ELSE 1 END
          FROM gen`,
    args: [offset + 1, offset + count, exif],
  });
}

async function rowCount(db: Client): Promise<number> {
  const rs = await db.execute('SELECT count(*) AS n FROM images');
  return Number(rs.rows[0]?.n ?? 0);
}

async function cannon(url: string, connections: number, seconds: number): Promise<autocannon.Result> {
  return autocannon({ url, connections, duration: seconds });
}

interface QueryResult {
  rows: number;
  query: string;
  p50: number;
  p99: number;
}

/** The repository calls behind the routes, in this process: the database's share of a request. */
async function timeQueries(db: Client, rows: number, id: string, cursor: ListCursor): Promise<QueryResult[]> {
  const images = createImagesRepository(db);
  const queries: Array<[string, () => Promise<unknown>]> = [
    ['list: first page of 100', () => images.list({ limit: 100, after: null })],
    ['list: page of 100 in the middle', () => images.list({ limit: 100, after: cursor })],
    ['find (detail)', () => images.find(id)],
    ['stats: counters row', () => images.stats()],
    ['stats: aggregate over the table (before)', () => aggregateStats(db)],
  ];
  const results: QueryResult[] = [];
  for (const [query, run] of queries) {
    for (let i = 0; i < 10; i++) await run();
    const samples: number[] = [];
    for (let i = 0; i < QUERY_REPEATS; i++) {
      const started = performance.now();
      await run();
      samples.push(performance.now() - started);
    }
    results.push({ rows, query, p50: percentile(samples, 50), p99: percentile(samples, 99) });
  }
  return results;
}

async function uploadAndWait(apiUrl: string, bytes: Buffer, name: string): Promise<string> {
  const form = new FormData();
  form.append('file', new Blob([bytes], { type: 'image/jpeg' }), name);
  const res = await fetch(`${apiUrl}/api/images`, { method: 'POST', body: form });
  const body = (await res.json()) as { data?: { image_id?: string } };
  const id = body.data?.image_id;
  if (res.status !== 202 || !id) throw new Error(`upload answered ${res.status}`);
  const deadline = Date.now() + 60_000;
  for (;;) {
    const detail = (await (await fetch(`${apiUrl}/api/images/${id}`)).json()) as { data?: { status?: string } };
    if (detail.data?.status === 'success') return id;
    if (detail.data?.status === 'failed' || Date.now() > deadline) throw new Error(`the photo for the read bench ended ${detail.data?.status}`);
    await sleep(100);
  }
}

/** A cursor from the middle of the list: pages deep in the table cost the same as the first. */
async function middleCursor(apiUrl: string, rows: number): Promise<string> {
  const limit = Math.min(1000, Math.floor(rows / 2));
  let cursor: string | null = null;
  for (let seen = 0; seen < rows / 2; seen += limit) {
    const res = await fetch(`${apiUrl}/api/images?limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
    await res.arrayBuffer();
    cursor = res.headers.get('x-next-cursor');
    if (!cursor) break;
  }
  if (!cursor) throw new Error('no next-page cursor in the list answer');
  return cursor;
}

async function main(): Promise<void> {
  const results: RouteResult[] = [];
  const queryResults: QueryResult[] = [];
  await withStack(QUIET_DEV_SERVER, async ({ stack, db }) => {
    const photo = await readSample('gps/DSCN0010.jpg');
    progress('uploading one photo for the detail and thumbnail routes');
    const id = await uploadAndWait(stack.apiUrl, photo, 'read-bench.jpg');

    for (const size of SIZES) {
      const have = await rowCount(db);
      if (have < size) {
        progress(`seeding ${size - have} rows (to ${size})`);
        await seed(db, size - have, have);
      }
      const cursor = await middleCursor(stack.apiUrl, size);
      queryResults.push(...(await timeQueries(db, size, id, decodeCursor(cursor))));
      const routes: Array<[string, string]> = [
        ['list (first page, 100 rows)', '/api/images'],
        ['list (a page in the middle)', `/api/images?cursor=${cursor}`],
        ['detail', `/api/images/${id}`],
        ['thumbnail (small)', `/api/images/${id}/thumbnails/small`],
        ['stats', '/api/stats'],
      ];
      for (const connections of CONNECTIONS) {
        for (const [route, path] of routes) {
          const url = `${stack.apiUrl}${path}`;
          // Warm-up: serverless-offline starts a worker thread (a cold start) per concurrent request the first time.
          await cannon(url, connections, 2);
          progress(`${size} rows: ${route}, ${SECONDS} s at ${connections} connections`);
          const result = await cannon(url, connections, SECONDS);
          results.push({
            rows: size,
            connections,
            route,
            requestsPerSecond: result.requests.average,
            mean: (connections * 1000) / result.requests.average,
            p50: result.latency.p50,
            p99: result.latency.p99,
            non2xx: result.non2xx,
            errors: result.errors + result.timeouts,
          });
        }
      }
    }
  });

  const small = SIZES[0] ?? 0;
  const large = SIZES[SIZES.length - 1] ?? 0;
  const n = (rows: number): string => rows.toLocaleString('en');
  const find = (rows: number, connections: number, route: string): RouteResult | undefined =>
    results.find((r) => r.rows === rows && r.connections === connections && r.route === route);
  const targetRows: string[][] = [];
  for (const connections of CONNECTIONS) {
    const at = `, ${connections} connection${connections === 1 ? '' : 's'}`;
    const lists = [find(large, connections, 'list (first page, 100 rows)'), find(large, connections, 'list (a page in the middle)')];
    const worstList = Math.max(...lists.map((r) => r?.p99 ?? Number.NaN));
    const statsLarge = find(large, connections, 'stats');
    const statsSmall = find(small, connections, 'stats');
    const statsRatio = statsLarge && statsSmall ? statsLarge.mean / statsSmall.mean : null;
    targetRows.push(
      [`list p99 < ${TARGET_P99_MS} ms at ${n(large)} rows${at}`, `${lists.map((r) => r?.p99 ?? 'n/a').join(' / ')} ms (first / middle page)`, verdict(Number.isNaN(worstList) ? null : worstList < TARGET_P99_MS)],
      [`stats p99 < ${TARGET_P99_MS} ms at ${n(large)} rows${at}`, statsLarge ? `${statsLarge.p99} ms` : 'n/a', verdict(statsLarge ? statsLarge.p99 < TARGET_P99_MS : null)],
      [
        `stats route mean latency at ${n(large)} vs ${n(small)} rows within ${TARGET_STATS_RATIO}×${at}`,
        statsRatio === null ? 'n/a' : `${statsRatio.toFixed(2)}× (${fmt(statsSmall?.mean, 2)} → ${fmt(statsLarge?.mean, 2)} ms)`,
        verdict(statsRatio === null ? null : statsRatio <= TARGET_STATS_RATIO),
      ],
    );
  }
  const query = (rows: number, name: string): QueryResult | undefined => queryResults.find((q) => q.rows === rows && q.query === name);
  const countersSmall = query(small, 'stats: counters row');
  const countersLarge = query(large, 'stats: counters row');
  if (countersSmall && countersLarge) {
    targetRows.push([
      `stats query cost at ${n(large)} vs ${n(small)} rows within ${TARGET_STATS_RATIO}× (in-process)`,
      `${(countersLarge.p50 / countersSmall.p50).toFixed(2)}× (${fmt(countersSmall.p50, 3)} → ${fmt(countersLarge.p50, 3)} ms)`,
      verdict(countersLarge.p50 / countersSmall.p50 <= TARGET_STATS_RATIO),
    ]);
  }
  printSection(
    'Read API latency (autocannon)',
    `${CONNECTIONS.join(' and ')} connections, ${SECONDS} s per route after a 2 s warm-up, against serverless-offline on this machine (autocannon runs on the same 2 cores). ` +
      `serverless-offline's per-request notices are off (${Object.entries(QUIET_DEV_SERVER).map(([k, v]) => `${k}=${v}`).join(' ')}). ` +
      'Latencies in ms: autocannon keeps whole ms (a p50 of 0 means under 1 ms), so the mean is connections ÷ requests/s (Little\'s law) and the row-count comparisons use it; "errors" counts non-2xx answers, errors and timeouts. ' +
      'The list routes use the default page size (100); the middle page is reached with the x-next-cursor of the page before it.',
    table(
      ['rows', 'connections', 'route', 'requests/s', 'mean ms', 'p50 ms', 'p99 ms', 'errors', `mean vs ${n(small)} rows`],
      results.map((r) => [
        n(r.rows),
        String(r.connections),
        r.route,
        fmt(r.requestsPerSecond, 0),
        fmt(r.mean, 2),
        String(r.p50),
        String(r.p99),
        String(r.non2xx + r.errors),
        r.rows === small ? '' : ratio(r.mean, find(small, r.connections, r.route)?.mean),
      ]),
    ),
    `The same queries in-process (the repository on the stack's database file, ${QUERY_REPEATS} calls each): the database's share of a request, without serverless-offline.`,
    table(
      ['rows', 'query', 'p50 ms', 'p99 ms', `p50 vs ${n(small)} rows`],
      queryResults.map((q) => [n(q.rows), q.query, fmt(q.p50, 3), fmt(q.p99, 3), q.rows === small ? '' : ratio(q.p50, query(small, q.query)?.p50)]),
    ),
    table(['target', 'measured', 'verdict'], targetRows),
  );
}

await main();
