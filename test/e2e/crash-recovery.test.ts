// A power cut in the middle of processing: every process of the stack is
// killed while the processor is inside an image. After a restart the message
// comes back once its visibility timeout ends and every image ends terminal.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startFakeCaptionServer } from '../support/fake-caption-server.ts';
import type { FakeCaptionServer } from '../support/fake-caption-server.ts';
import { readSample } from '../support/sample-images.ts';
import { startStack } from '../support/stack.ts';
import type { RunningStack } from '../support/stack.ts';
import type { ImageDetail } from '../support/api-types.ts';

describe('crash recovery through the real stack', { timeout: 300_000 }, () => {
  const workDir = mkdtempSync(join(tmpdir(), 'imageprocessingapi-crash-'));
  const dataDir = join(workDir, 'data');
  let stack: RunningStack | undefined;
  let captions: FakeCaptionServer;
  const env = (): Record<string, string> => ({
    CAPTION_ENDPOINT_URL: captions.url,
    CAPTION_TIMEOUT_MS: '20000',
    QUEUE_VISIBILITY_TIMEOUT_SECONDS: '3',
  });

  before(async () => {
    captions = await startFakeCaptionServer({ text: 'after the crash' });
  });
  after(async () => {
    await stack?.stop();
    await captions.close();
    rmSync(workDir, { recursive: true, force: true });
  });

  test('stack killed while images are mid-processing → after restart every image ends success, stats add up', async () => {
    // The caption call is the slow step here, so the processor is surely inside the images when the stack dies.
    captions.setBehaviour({ kind: 'caption', text: 'never delivered', delayMs: 15_000 });
    stack = await startStack({ dataDir, env: env() });
    const ids: string[] = [];
    for (const path of ['gps/DSCN0021.jpg', 'gps/DSCN0025.jpg', 'orientation/landscape_3.jpg']) {
      const form = new FormData();
      form.append('file', new Blob([await readSample(path)]), path.split('/')[1] ?? 'photo.jpg');
      const res = await fetch(`${stack.apiUrl}/api/images`, { method: 'POST', body: form });
      assert.equal(res.status, 202);
      ids.push(((await res.json()) as { data: { image_id: string } }).data.image_id);
    }
    const deadline = Date.now() + 30_000;
    while (captions.requests.length < 1 && Date.now() < deadline) await sleep(50);
    assert.ok(captions.requests.length >= 1, 'the processor reached the caption step');

    await stack.crash();
    captions.setBehaviour({ kind: 'caption', text: 'after the crash' });
    stack = await startStack({ dataDir, env: env(), ports: stack.ports });

    const finals: ImageDetail[] = [];
    for (const id of ids) {
      const until = Date.now() + 60_000;
      for (;;) {
        const detail = ((await (await fetch(`${stack.apiUrl}/api/images/${id}`)).json()) as { data: ImageDetail }).data;
        if (detail.status === 'success' || detail.status === 'failed') {
          finals.push(detail);
          break;
        }
        assert.ok(Date.now() < until, `${id} still ${detail.status}`);
        await sleep(200);
      }
    }
    for (const detail of finals) {
      assert.equal(detail.status, 'success', detail.error ?? '');
      assert.equal(detail.caption, 'after the crash');
    }
    const stats = ((await (await fetch(`${stack.apiUrl}/api/stats`)).json()) as { data: { total: number; success: number; failed: number } }).data;
    assert.deepEqual({ total: stats.total, success: stats.success, failed: stats.failed }, { total: ids.length, success: ids.length, failed: 0 });
  });
});
