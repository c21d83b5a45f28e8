// A database file made by the first release's schema (test/fixtures/schema)
// is brought up to date at cold start: the new columns are added, failed rows
// are sorted into permanent and transient, the stats counters stay right,
// and two cold starts at once do not trip over each other.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { createClient } from '@libsql/client';
import { openDatabase } from '../../lib/db/client.ts';
import { aggregateStats, createImagesRepository } from '../../lib/db/images-repository.ts';
import { createImageLifecycle } from '../../lib/image-lifecycle.ts';

const V1_SCHEMA = readFileSync(resolve(import.meta.dirname, '../fixtures/schema/images-v1.sql'), 'utf8')
  .split(/^---$/m)
  .map((statement) => statement.replace(/^--.*$/gm, '').trim())
  .filter(Boolean);

const CLIENT_MODULE = pathToFileURL(resolve(import.meta.dirname, '../../lib/db/client.ts')).href;

const workDir = mkdtempSync(join(tmpdir(), 'schema-migration-test-'));
after(() => rmSync(workDir, { recursive: true, force: true }));

interface LegacyRow {
  id: string;
  status: string;
  error?: string;
  ms?: number;
}

/** A database file as the first release left it, with one row of each kind. */
async function legacyDatabase(name: string): Promise<{ url: string; rows: Record<string, LegacyRow> }> {
  const url = `file:${join(workDir, name)}`;
  const db = createClient({ url });
  // The first release's openDatabase put every file in WAL mode.
  await db.execute('PRAGMA journal_mode = WAL');
  await db.batch(V1_SCHEMA, 'write');
  const rows: Record<string, LegacyRow> = {
    queued: { id: randomUUID(), status: 'queued' },
    processing: { id: randomUUID(), status: 'processing' },
    success: { id: randomUUID(), status: 'success', ms: 120 },
    outage: { id: randomUUID(), status: 'failed', error: 'Processing failed after 3 attempts: connect ECONNREFUSED' },
    stale: { id: randomUUID(), status: 'failed', error: 'Processing did not finish within 3600 s' },
    corrupt: { id: randomUUID(), status: 'failed', error: 'Image is corrupt or truncated' },
  };
  const at = '2026-01-01T00:00:00.000Z';
  for (const row of Object.values(rows)) {
    await db.execute({
      sql: `INSERT INTO images (id, original_name, status, created_at, updated_at, original_key, content_type, size_bytes, error, processing_time_ms)
            VALUES (?, 'a.jpg', ?, ?, ?, ?, 'image/jpeg', 10, ?, ?)`,
      args: [row.id, row.status, at, at, `originals/${row.id}.jpg`, row.error ?? null, row.ms ?? null],
    });
  }
  db.close();
  return { url, rows };
}

describe('schema migration of a first-release database file', () => {
  test('cold start on an old file → new columns added, failed rows sorted by cause, counters unchanged; a second start changes nothing', async () => {
    const { url, rows } = await legacyDatabase('old.db');
    const db = await openDatabase(url);
    const images = createImagesRepository(db);
    const statsBefore = await aggregateStats(db);
    assert.deepEqual(await images.stats(), statsBefore, 'the counters match the rows');
    assert.deepEqual(statsBefore, { total: 6, success: 1, failed: 3, avgProcessingTimeMs: 120 });

    const kind = async (id: string): Promise<string | null | undefined> => (await images.find(id))?.failureKind;
    assert.equal(await kind(rows.outage?.id ?? ''), 'transient');
    assert.equal(await kind(rows.stale?.id ?? ''), 'transient');
    assert.equal(await kind(rows.corrupt?.id ?? ''), 'permanent');
    const outage = await images.find(rows.outage?.id ?? '');
    assert.equal(outage?.errorDetail, 'Processing failed after 3 attempts: connect ECONNREFUSED', 'the raw text moves to error_detail');
    assert.match(outage?.error ?? '', /^Processing failed: a service it depends on was unavailable\. .*\/reprocess\.$/);
    assert.equal((await images.find(rows.corrupt?.id ?? ''))?.error, 'Image is corrupt or truncated', 'a permanent reason stays as it was');
    assert.equal(await kind(rows.success?.id ?? ''), null);
    const queued = await images.find(rows.queued?.id ?? '');
    assert.equal(queued?.generation, 1);
    assert.equal(queued?.jobSentAt, null, 'an old queued row cannot prove its send: the sweeper sends it once');

    await openDatabase(url).then((again) => again.close());
    assert.deepEqual(await images.stats(), statsBefore);
    const columns = (await db.execute('PRAGMA table_info(images)')).rows.map((row) => String(row.name));
    for (const name of ['failure_kind', 'generation', 'job_sent_at', 'lease_token', 'lease_message_id', 'lease_receive_count', 'lease_expires_at', 'caption_job_sent_at']) {
      assert.equal(columns.filter((column) => column === name).length, 1, name);
    }
    db.close();
  });

  test('the new code on a migrated file: an old processing row (no lease) can be claimed, the outage rows are found by the redrive, the old queued row by the sweeper', async () => {
    const { url, rows } = await legacyDatabase('in-use.db');
    const db = await openDatabase(url);
    const images = createImagesRepository(db);
    const lifecycle = createImageLifecycle(images, { leaseSeconds: 60 });
    assert.equal((await lifecycle.claim(rows.processing?.id ?? '', { messageId: 'm', receiveCount: 1 })).outcome, 'claimed');
    assert.deepEqual(
      (await images.findFailed(['transient'], null, 10)).map((row) => row.id).sort(),
      [rows.outage?.id, rows.stale?.id].sort(),
    );
    assert.deepEqual((await images.findUnsentJobs('2027-01-01T00:00:00.000Z', 10)).map((row) => row.id), [rows.queued?.id]);
    assert.equal((await lifecycle.requeue(rows.outage?.id ?? '', 'transient'))?.status, 'queued');
    assert.deepEqual(await images.stats(), await aggregateStats(db), 'triggers still count on the migrated table');
    db.close();
  });

  test('two cold starts at once on an old file, in two processes → both succeed, each column added once', async () => {
    const { url } = await legacyDatabase('race.db');
    // Separate processes, as two Lambda instances are: libsql waits for a lock
    // synchronously, so two clients in one event loop would only block each other.
    const coldStart = (): Promise<number | null> =>
      new Promise((resolveExit) => {
        const code = `const { openDatabase } = await import(${JSON.stringify(CLIENT_MODULE)}); (await openDatabase(process.argv[1])).close();`;
        const child = spawn(process.execPath, ['--input-type=module', '-e', code, url], { stdio: ['ignore', 'inherit', 'inherit'] });
        child.once('exit', (exitCode) => resolveExit(exitCode));
      });
    assert.deepEqual(await Promise.all([coldStart(), coldStart(), coldStart()]), [0, 0, 0]);
    const db = createClient({ url });
    const columns = (await db.execute('PRAGMA table_info(images)')).rows.map((row) => String(row.name));
    assert.equal(new Set(columns).size, columns.length);
    assert.ok(columns.includes('lease_token'));
    db.close();
  });
});
