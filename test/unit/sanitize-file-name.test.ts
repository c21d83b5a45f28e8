import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sanitizeFileName } from '../../lib/upload-image.ts';

test('sanitizeFileName: plain and Unicode names → unchanged', () => {
  assert.equal(sanitizeFileName('photo.jpg'), 'photo.jpg');
  assert.equal(sanitizeFileName('фото 🌄.jpg'), 'фото 🌄.jpg');
  assert.equal(sanitizeFileName('my "quoted" photo.jpg'), 'my "quoted" photo.jpg');
});

test('sanitizeFileName: Unix and Windows paths → the last segment only', () => {
  assert.equal(sanitizeFileName('../../etc/passwd.jpg'), 'passwd.jpg');
  assert.equal(sanitizeFileName('..\\..\\windows\\win.ini.jpg'), 'win.ini.jpg');
});

test('sanitizeFileName: C0 controls, DEL, CR/LF and NUL → removed', () => {
  assert.equal(sanitizeFileName('evil\r\nX-Injected: 1\u0000\u0007\u007f.jpg'), 'evilX-Injected: 1.jpg');
});

test('sanitizeFileName: C1 controls (U+0080–U+009F) → removed', () => {
  assert.equal(sanitizeFileName('a\u0085b\u009bc.jpg'), 'abc.jpg');
});

test('sanitizeFileName: bidi overrides and Unicode line separators → removed, so the extension cannot be disguised', () => {
  assert.equal(sanitizeFileName('photo\u202Egpj.exe'), 'photogpj.exe');
  assert.equal(sanitizeFileName('a\u2066b\u2069\u200f\u2028c\u2029.jpg'), 'abc.jpg');
});

test('sanitizeFileName: emoji joined by ZWJ → kept whole', () => {
  const family = '\u{1F468}\u200D\u{1F469}\u200D\u{1F467}.png';
  assert.equal(sanitizeFileName(family), family);
});

test('sanitizeFileName: 1,000 characters → at most 255 code points, extension kept, no trailing space', () => {
  const name = sanitizeFileName(`${'a'.repeat(250)} ${'b'.repeat(745)}.jpg`);
  assert.equal(name, `${'a'.repeat(250)}.jpg`);
  assert.equal(sanitizeFileName(`${'x'.repeat(996)}.jpg`), `${'x'.repeat(251)}.jpg`);
  const astral = sanitizeFileName('🌄'.repeat(1000));
  assert.equal(Array.from(astral).length, 255);
  assert.equal(astral, '🌄'.repeat(255), 'no surrogate pair is cut in half');
});

test('sanitizeFileName: empty, missing, dots only or controls only → "upload"', () => {
  for (const raw of [undefined, '', '.', '..', '../..', '\r\n\t', ' \u202E ', 'dir/']) {
    assert.equal(sanitizeFileName(raw), 'upload', JSON.stringify(raw));
  }
});
