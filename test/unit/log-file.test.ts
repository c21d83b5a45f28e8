import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { cappedLogFile } from '../../lib/log-file.ts';

const dir = mkdtempSync(join(tmpdir(), 'log-file-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const line = (writer: string, n: number): string => `${JSON.stringify({ writer, n, pad: 'x'.repeat(200) })}\n`;

test('cappedLogFile: past its size the file moves to .1 and a new one starts; both stay bounded', () => {
  const file = join(dir, 'one.log');
  const maxBytes = 64 * 1024;
  const log = cappedLogFile(file, maxBytes);
  for (let n = 0; n < 5_000; n++) log.write(line('a', n));
  assert.ok(existsSync(`${file}.1`));
  // One check interval (at least 16 kB) of overshoot at most.
  assert.ok(statSync(file).size <= maxBytes + 17 * 1024, `${statSync(file).size}`);
  assert.ok(statSync(`${file}.1`).size <= maxBytes + 17 * 1024);
  const last = readFileSync(file, 'utf8').trimEnd().split('\n').at(-1) ?? '';
  assert.equal((JSON.parse(last) as { n: number }).n, 4_999, 'the newest line is in the current file');
});

test('cappedLogFile: two writers on one file (two Lambda threads) → both follow a rotation, every line whole, disk bounded', () => {
  const file = join(dir, 'shared.log');
  const maxBytes = 64 * 1024;
  const a = cappedLogFile(file, maxBytes);
  const b = cappedLogFile(file, maxBytes);
  for (let n = 0; n < 3_000; n++) {
    a.write(line('a', n));
    b.write(line('b', n));
  }
  const total = statSync(file).size + statSync(`${file}.1`).size;
  assert.ok(total <= 3 * maxBytes, `${total} bytes on disk`);
  const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
  for (const text of lines) assert.doesNotThrow(() => JSON.parse(text));
  const writers = new Set(lines.map((text) => (JSON.parse(text) as { writer: string }).writer));
  assert.deepEqual([...writers].sort(), ['a', 'b'], 'both writers write to the current file');
});
