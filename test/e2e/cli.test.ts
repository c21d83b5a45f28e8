// The command-line client through the real stack: a folder of the fixture
// photos with things that are not photos in it, uploaded and followed to the
// end; a second run creates nothing new; a failed image makes the exit code 1;
// 503s are retried; stats and list.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PROJECT_ROOT } from '../../local/resources.ts';
import { jpegWithCorruptScan } from '../support/corrupt-jpeg.ts';
import { startFakeCaptionServer } from '../support/fake-caption-server.ts';
import type { FakeCaptionServer } from '../support/fake-caption-server.ts';
import { readSample, SAMPLE_IMAGES_DIR } from '../support/sample-images.ts';
import { startStack } from '../support/stack.ts';
import type { RunningStack } from '../support/stack.ts';

const CLI = resolve(PROJECT_ROOT, 'cli/main.ts');
const PHOTOS = ['cameras/Canon_40D.jpg', 'cameras/Nikon_D70.jpg', 'cameras/Pentax_K10D.jpg', 'gps/DSCN0010.jpg', 'gps/DSCN0012.jpg', 'orientation/portrait_6.jpg', 'orientation/landscape_3.jpg'];

interface Line {
  file: string;
  image_id: string | null;
  status: string;
  error: string | null;
}

function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [CLI, ...args], { cwd: PROJECT_ROOT, env: { ...process.env, ...env }, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      done({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

const lines = (stdout: string): Line[] =>
  stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Line);

describe('imageprocessingapi CLI over the local stack', { timeout: 600_000 }, () => {
  const workDir = mkdtempSync(join(tmpdir(), 'imageprocessingapi-cli-'));
  const folder = join(workDir, 'holiday');
  let stack: RunningStack;
  let captions: FakeCaptionServer;
  let firstRun: Line[] = [];

  before(async () => {
    captions = await startFakeCaptionServer({ text: 'a photo taken with a camera' });
    stack = await startStack({ dataDir: join(workDir, 'data'), env: { CAPTION_ENDPOINT_URL: captions.url } });
    mkdirSync(join(folder, 'day-2', 'raw'), { recursive: true });
    mkdirSync(join(folder, '.thumbnails'));
    for (const [i, photo] of PHOTOS.entries()) copyFileSync(join(SAMPLE_IMAGES_DIR, photo), join(folder, i < 4 ? '' : 'day-2', photo.split('/').pop() ?? ''));
    copyFileSync(join(SAMPLE_IMAGES_DIR, PHOTOS[0] ?? ''), join(folder, 'day-2', 'raw', 'copy-of-canon.jpg'));
    writeFileSync(join(folder, 'notes.txt'), 'not a photo');
    writeFileSync(join(folder, 'day-2', 'looks-like.jpg'), '<html>not a photo either</html>');
    copyFileSync(join(SAMPLE_IMAGES_DIR, 'heic/samplefilehub.heif'), join(folder, 'day-2', 'phone.jpg'));
    copyFileSync(join(SAMPLE_IMAGES_DIR, PHOTOS[1] ?? ''), join(folder, '.thumbnails', 'hidden.jpg'));
  });

  after(async () => {
    if (process.env.E2E_DEBUG) console.log(stack?.output());
    await stack?.stop();
    await captions?.close();
    rmSync(workDir, { recursive: true, force: true });
  });

  test('upload a folder --wait --json: every photo success, the rest skipped by content, the same bytes uploaded once, hidden entries left alone; exit 0', async () => {
    const { code, stdout, stderr } = await run(['upload', folder, '--api', stack.apiUrl, '--concurrency', '3', '--wait', '--json']);
    assert.equal(code, 0, stderr);
    firstRun = lines(stdout);
    const byName = new Map(firstRun.map((line) => [line.file.split('/').pop(), line]));
    assert.equal(firstRun.length, PHOTOS.length + 4, stdout);
    for (const photo of PHOTOS) {
      const line = byName.get(photo.split('/').pop());
      assert.equal(line?.status, 'success', JSON.stringify(line));
      assert.match(line?.image_id ?? '', /^[0-9a-f-]{36}$/);
      assert.equal(line?.error, null);
    }
    for (const name of ['notes.txt', 'looks-like.jpg', 'phone.jpg']) assert.deepEqual(byName.get(name), { ...byName.get(name), status: 'skipped', image_id: null, error: 'not a JPEG or PNG' });
    const copy = byName.get('copy-of-canon.jpg');
    assert.equal(copy?.status, 'duplicate');
    assert.equal(copy?.image_id, byName.get('Canon_40D.jpg')?.image_id);
    assert.ok(!firstRun.some((line) => line.file.includes('.thumbnails')));
    assert.ok(firstRun.some((line) => line.file === join(folder, 'day-2', 'raw', 'copy-of-canon.jpg')), 'files named as the folder was given');
  });

  test('the same folder again: no new image (the Idempotency-Key is the bytes), the same ids answered', async () => {
    const before = JSON.parse((await run(['stats', '--api', stack.apiUrl, '--json'])).stdout) as { total: number };
    const { code, stdout } = await run(['upload', folder, '--api', stack.apiUrl, '--json']);
    assert.equal(code, 0);
    const again = lines(stdout);
    for (const line of again) assert.equal(line.image_id, firstRun.find((first) => first.file === line.file)?.image_id, line.file);
    const after = JSON.parse((await run(['stats', '--api', stack.apiUrl, '--json'])).stdout) as { total: number };
    assert.equal(after.total, before.total);
    assert.equal(after.total, PHOTOS.length);
  });

  test('plain output when stdout is not a terminal: a line per file, then the summary table', async () => {
    const { code, stdout } = await run(['upload', join(folder, 'day-2'), '--api', stack.apiUrl]);
    assert.equal(code, 0);
    assert.match(stdout, /^\d+ files\n/);
    assert.match(stdout, /queued \(already uploaded\) .*portrait_6\.jpg [0-9a-f-]{36}|success \(already uploaded\) .*portrait_6\.jpg [0-9a-f-]{36}/);
    assert.match(stdout, /skipped +.*looks-like\.jpg: not a JPEG or PNG/);
    assert.match(stdout, /│ already uploaded \(same bytes\) │ \d+/);
    assert.match(stdout, /│ skipped \(not JPEG or PNG\) +│ 2 /);
    assert.match(stdout, /\d+ files, [\d.]+ MB uploaded in [\d.]+ s: [\d.]+ files\/s/);
  });

  test('a photo that fails processing: listed with its reason, exit code 1; list --status failed finds it', async () => {
    const broken = join(workDir, 'broken');
    mkdirSync(broken);
    writeFileSync(join(broken, 'broken.jpg'), jpegWithCorruptScan(await readSample('cameras/Canon_40D.jpg')));
    const { code, stdout } = await run(['upload', broken, '--api', stack.apiUrl, '--wait']);
    assert.equal(code, 1, stdout);
    assert.match(stdout, /│ processed: failed +│ 1 /);
    assert.match(stdout, /broken\.jpg.*failed/s);
    const listed = lines((await run(['list', '--status', 'failed', '--api', stack.apiUrl, '--json'])).stdout);
    assert.deepEqual(
      listed.map((item) => (item as unknown as { original_name: string }).original_name),
      ['broken.jpg'],
    );
    const table = await run(['list', '--q', 'nikon', '--api', stack.apiUrl]);
    assert.match(table.stdout, /Nikon_D70\.jpg/);
    assert.doesNotMatch(table.stdout, /Canon_40D/);
  });

  test('503 and 429 from the API are retried with backoff (Retry-After honoured); the upload then succeeds', async () => {
    // Stands in for the API's passing refusals (a throttled stage, a database moment): the real stack behind it.
    let refusals = 0;
    const proxy: Server = createServer((req, res) => {
      if (req.method === 'POST' && refusals < 3) {
        refusals++;
        req.resume();
        res.writeHead(refusals % 2 === 0 ? 429 : 503, { 'content-type': 'application/json', 'retry-after': '1' });
        res.end(JSON.stringify({ status: 'error', data: null, error: 'Too many requests' }));
        return;
      }
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const headers = Object.fromEntries(Object.entries(req.headers).filter(([name]) => !['host', 'content-length', 'connection'].includes(name))) as Record<string, string>;
        void fetch(`${stack.apiUrl}${req.url ?? '/'}`, { method: req.method ?? 'GET', headers, ...(chunks.length ? { body: Buffer.concat(chunks) } : {}) }).then(async (answer) => {
          res.writeHead(answer.status, Object.fromEntries(answer.headers));
          res.end(Buffer.from(await answer.arrayBuffer()));
        });
      });
    });
    await new Promise<void>((listening) => proxy.listen(0, '127.0.0.1', listening));
    const address = proxy.address();
    const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    try {
      const png = join(workDir, 'retry.png');
      const sharp = (await import('sharp')).default;
      writeFileSync(png, await sharp({ create: { width: 40, height: 30, channels: 3, background: { r: 200, g: 10, b: 10 } } }).png().toBuffer());
      const started = Date.now();
      const { code, stdout, stderr } = await run(['upload', png, '--api', url, '--json']);
      assert.equal(code, 0, stderr);
      assert.equal(refusals, 3);
      assert.equal(lines(stdout)[0]?.status, 'queued');
      assert.match(stderr, /retrying upload retry\.png in \d/);
      assert.ok(Date.now() - started >= 3000, 'each Retry-After: 1 waited');
    } finally {
      await new Promise((closed) => proxy.close(closed));
    }
  });

  test('usage errors and an API that cannot be reached: exit 2 with the reason', async () => {
    assert.equal((await run(['upload'])).code, 2);
    assert.equal((await run(['frobnicate'])).code, 2);
    assert.equal((await run(['upload', folder, '--concurrency', '0'])).code, 2);
    const missing = await run(['upload', join(workDir, 'no-such-folder'), '--api', stack.apiUrl, '--json']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /not a file or folder/);
  });
});
