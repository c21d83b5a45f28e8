// The gallery in a real browser (Debian's Chromium driven by playwright-core)
// against the real stack: photos uploaded through the page (the file picker
// and a drop), a refused file showing the API's error, thumbnails appearing by
// themselves with their captions as alt text, search and the status filter,
// the detail view by keyboard, no console error, and screenshots at 375 and
// 1440 px in .data/screenshots/. Skipped, saying why, where no Chromium is
// installed (apt-get install -y chromium; .ci/run installs it).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import sharp from 'sharp';
import { PROJECT_ROOT } from '../../local/resources.ts';
import { startFakeCaptionServer } from '../support/fake-caption-server.ts';
import type { FakeCaptionServer } from '../support/fake-caption-server.ts';
import { SAMPLE_IMAGES_DIR } from '../support/sample-images.ts';
import { startStack } from '../support/stack.ts';
import type { RunningStack } from '../support/stack.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// Without the background-networking flags Chromium keeps calling Google's hosts, which a closed network refuses.
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const CAPTION = 'a photo taken with a camera';
const PICKED = ['cameras/Nikon_D70.jpg', 'gps/DSCN0010.jpg', 'orientation/portrait_6.jpg'].map((photo) => join(SAMPLE_IMAGES_DIR, photo));
const SCREENSHOTS = resolve(PROJECT_ROOT, '.data/screenshots');
/** What the in-page functions below use of the browser's globals (this program is typed for Node, without the DOM). */
interface PageGlobals {
  DataTransfer: new () => { items: { add(file: unknown): void } };
  File: new (parts: unknown[], name: string, options: { type: string }) => unknown;
}

/** Polls from Node: the page's CSP (script-src 'self') refuses the string evaluation page.waitForFunction would use. */
async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolveWait) => setTimeout(resolveWait, 100));
  }
}

const skip = existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH) to run the browser test`;

describe('gallery in Chromium over the local stack', { skip, timeout: 300_000 }, () => {
  const workDir = mkdtempSync(join(tmpdir(), 'imageprocessingapi-gallery-'));
  let stack: RunningStack;
  let captions: FakeCaptionServer;
  let browser: Browser;
  let page: Page;
  const consoleErrors: string[] = [];
  const posts: string[] = [];
  const started = Date.now();

  before(async () => {
    captions = await startFakeCaptionServer({ text: CAPTION });
    stack = await startStack({ dataDir: join(workDir, 'data'), env: { CAPTION_ENDPOINT_URL: captions.url } });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(`${message.text()} (${message.location().url})`);
    });
    page.on('pageerror', (error) => consoleErrors.push(`page error: ${error.message}`));
    page.on('request', (request) => {
      if (request.method() === 'POST') posts.push(new URL(request.url()).origin === stack.apiUrl ? new URL(request.url()).pathname : 'storage');
    });
    mkdirSync(SCREENSHOTS, { recursive: true });
  });

  after(async () => {
    await browser?.close();
    await stack?.stop();
    await captions?.close();
    rmSync(workDir, { recursive: true, force: true });
  });

  test('the page loads offline-clean: its own script and style only, stats shown, an empty grid says so', async () => {
    const requested: string[] = [];
    page.on('request', (request) => requested.push(request.url()));
    await page.goto(`${stack.apiUrl}/`);
    await page.getByText('No photos yet').waitFor();
    assert.equal(await page.locator('[data-stat="total"]').textContent(), '0');
    assert.ok(requested.every((url) => url.startsWith(stack.apiUrl)), `only the API's origin: ${requested.join(', ')}`);
  });

  test('upload by the file picker and by a drop: per-file progress to done; a refused file shows the API error next to its name', async () => {
    const gif = join(workDir, 'animation.gif');
    writeFileSync(gif, Buffer.from('GIF89a\x01\x00\x01\x00\x00\x00\x00;', 'latin1'));
    await page.setInputFiles('#file-input', [...PICKED, gif]);

    const png = await sharp({ create: { width: 640, height: 360, channels: 3, background: { r: 30, g: 90, b: 200 } } }).png().toBuffer();
    // What a drag from the desktop carries.
    const dataTransfer = await page.evaluateHandle((base64) => {
      const { DataTransfer, File } = globalThis as unknown as PageGlobals;
      const bytes = Uint8Array.from(atob(base64), (char) => char.charCodeAt(0));
      const transfer = new DataTransfer();
      transfer.items.add(new File([bytes], 'dropped-banner.png', { type: 'image/png' }));
      return transfer;
    }, png.toString('base64'));
    await page.dispatchEvent('#drop', 'drop', { dataTransfer });

    const rows = page.locator('.upload-row');
    await waitUntil('5 finished uploads', async () => (await page.locator('.upload-row[data-state]').count()) === 5, 60_000);
    assert.equal(await rows.count(), 5);
    assert.equal(await page.locator('.upload-row[data-state="done"]').count(), 4);
    const refused = page.locator('.upload-row[data-state="error"]');
    assert.equal(await refused.locator('.upload-name').textContent(), 'animation.gif');
    assert.equal(await refused.locator('.upload-state').textContent(), 'Unsupported file type. Use JPG or PNG.');
    assert.equal(await refused.locator('[role="alert"]').count(), 1);
    // The photos went straight to storage (the direct upload); the GIF through the API, which judged its bytes.
    assert.deepEqual(posts.toSorted(), ['/api/images', ...Array(4).fill('/api/uploads'), ...Array(4).fill('storage')]);
  });

  test('thumbnails appear by themselves, newest first, each <img> with its thumbnail URL and the caption as alt; stats follow', async () => {
    const images = page.locator(`#grid img[alt="${CAPTION}"]`);
    await waitUntil('4 captioned thumbnails', async () => (await images.count()) === 4, 60_000);
    for (const img of await images.all()) {
      assert.match((await img.getAttribute('src')) ?? '', /\/api\/images\/[0-9a-f-]{36}\/thumbnails\/small$/);
      await img.scrollIntoViewIfNeeded();
      await waitUntil('the thumbnail to load', async () => (await img.evaluate((element) => (element as unknown as { naturalWidth: number }).naturalWidth)) > 0);
    }
    await waitUntil('the stats to count 4', async () => (await page.locator('[data-stat="total"]').textContent()) === '4');
    assert.equal(await page.locator('[data-stat="success_rate"]').textContent(), '100 %');
    assert.equal(await page.locator('#grid .badge.status-success').count(), 4);
  });

  test('search and the status filter narrow the grid through the API', async () => {
    const cards = (n: number): Promise<void> => waitUntil(`${n} cards`, async () => (await page.locator('#grid .card').count()) === n);
    await page.fill('#search', 'd70');
    await cards(1);
    assert.equal(await page.locator('#grid .name').textContent(), 'Nikon_D70.jpg');
    await page.fill('#search', 'nikon');
    await cards(2);
    await page.fill('#search', '');
    await cards(4);
    await page.selectOption('#status-filter', 'failed');
    await page.getByText('No photos match.').waitFor();
    await page.selectOption('#status-filter', '');
    await cards(4);
  });

  test('the detail view by keyboard: 512 px thumbnail, caption, dimensions, format, size, processing time and the EXIF table; Escape closes it', async () => {
    const card = page.locator('#grid .card-open', { hasText: 'DSCN0010.jpg' });
    await card.focus();
    await page.keyboard.press('Enter');
    const dialog = page.locator('#detail');
    await dialog.waitFor({ state: 'visible' });
    const image = page.locator('#detail-image');
    await image.waitFor({ state: 'visible' });
    await waitUntil('the 512 px thumbnail to load', async () => (await image.evaluate((element) => (element as unknown as { naturalWidth: number }).naturalWidth)) > 0);
    assert.match((await image.getAttribute('src')) ?? '', /\/thumbnails\/medium$/);
    assert.equal(await image.getAttribute('alt'), CAPTION);
    assert.equal(await page.locator('#detail-caption').textContent(), CAPTION);
    const facts = (await page.locator('#detail-facts').innerText()).replace(/\s+/g, ' ');
    assert.match(facts, /Dimensions \d+ × \d+ px/);
    assert.match(facts, /Format JPG/);
    assert.match(facts, /Size [\d.]+ KB/);
    assert.match(facts, /Processing time \d+ ms/);
    const exif = (await page.locator('#detail-exif').innerText()).replace(/\s+/g, ' ');
    assert.match(exif, /Camera NIKON COOLPIX P6000/);
    assert.match(exif, /Exposure 1\/\d+ s/);
    assert.match(exif, /Aperture f\/[\d.]+/);
    assert.match(exif, /Date taken \d{4}-\d{2}-\d{2}/);
    await page.screenshot({ path: join(SCREENSHOTS, 'gallery-detail-1440.png') });
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    assert.equal(await card.evaluate((element) => element === (globalThis as unknown as { document: { activeElement: unknown } }).document.activeElement), true, 'focus back on the card');
    // The upload rows said how each ended.
    await waitUntil('the upload rows to say Done', async () => (await page.locator('.upload-row .upload-state', { hasText: /^Done$/ }).count()) === 4);
  });

  test('screenshots at 1440 and 375 px; at 375 px nothing is wider than the screen', async () => {
    await page.screenshot({ path: join(SCREENSHOTS, 'gallery-1440.png'), fullPage: true });
    await page.setViewportSize({ width: 375, height: 812 });
    await page.mouse.wheel(0, -100_000);
    const widths = await page.evaluate(() => {
      const { document, innerWidth } = globalThis as unknown as { document: { documentElement: { scrollWidth: number } }; innerWidth: number };
      return { page: document.documentElement.scrollWidth, screen: innerWidth };
    });
    assert.ok(widths.page <= widths.screen, `no horizontal scrolling at 375 px: ${JSON.stringify(widths)}`);
    await page.screenshot({ path: join(SCREENSHOTS, 'gallery-375.png'), fullPage: true });
    await page.setViewportSize({ width: 1440, height: 1000 });
  });

  test('no console error but the one a refused upload causes (the browser logs the 415)', (t) => {
    const unexpected = consoleErrors.filter((message) => !/status of 415/.test(message));
    assert.deepEqual(unexpected, []);
    t.diagnostic(`browser test: ${((Date.now() - started) / 1000).toFixed(1)} s, stack start included`);
  });
});
