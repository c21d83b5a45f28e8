// A short load run through the real stack: uploads of real photos, 20 at a
// time, while processing runs. Every upload is answered, every accepted image
// ends terminal, none is lost and the stats add up. `npm run load` is the long run.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runLoad } from '../support/load-run.ts';
import { listSamples, readSample } from '../support/sample-images.ts';
import { startStack } from '../support/stack.ts';
import type { RunningStack } from '../support/stack.ts';

describe('load through the local stack', { timeout: 300_000 }, () => {
  const workDir = mkdtempSync(join(tmpdir(), 'imageprocessingapi-load-'));
  let stack: RunningStack;

  before(async () => {
    stack = await startStack({ dataDir: join(workDir, 'data'), env: { HF_TOKEN: '', CAPTION_ENDPOINT_URL: '' } });
  });
  after(async () => {
    await stack?.stop();
    rmSync(workDir, { recursive: true, force: true });
  });

  test('80 uploads of real photos at concurrency 20 → all answered 202, all success, none lost, stats add up', async () => {
    const paths = [...(await listSamples('gps')), ...(await listSamples('orientation')), ...(await listSamples('cameras'))];
    const files = await Promise.all(paths.map(async (path) => ({ name: path.split('/')[1] ?? 'photo.jpg', bytes: await readSample(path) })));
    const report = await runLoad({ apiUrl: stack.apiUrl, files, uploads: 80, concurrency: 20, settleTimeoutMs: 120_000, pids: stack.pids() });
    console.log(`load: ${JSON.stringify(report)}`);
    assert.deepEqual(report.answers, { '202': 80 });
    assert.equal(report.unexpected5xx, 0);
    assert.equal(report.lost, 0);
    assert.equal(report.success, 80);
    assert.deepEqual(report.stats, { total: 80, success: 80, failed: 0 });
  });
});
