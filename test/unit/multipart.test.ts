import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BadRequestError, PayloadTooLargeError } from '../../lib/errors.ts';
import { httpHandler, jsonResponse, multipartFile } from '../../lib/http.ts';
import type { HttpEvent, HttpResult } from '../../lib/http.ts';
import { parseMultipartBody } from '../../lib/multipart.ts';
import type { MultipartFields } from '../../lib/multipart.ts';
import { loadAccess } from '../../lib/access.ts';
import { loadConfig } from '../../lib/config.ts';
import { openDatabase } from '../../lib/db/client.ts';
import { createLogger } from '../../lib/log.ts';

const BOUNDARY = 'unitBoundary42';
const CONTENT_TYPE = `multipart/form-data; boundary=${BOUNDARY}`;
const FILE = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4, 5, 6, 7, 8]);

function body(parts: Array<{ disposition: string; content: Buffer | string }>): Buffer {
  const chunks: Buffer[] = [Buffer.from('preamble\r\n')];
  for (const part of parts) {
    chunks.push(Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: ${part.disposition}\r\nContent-Type: image/jpeg\r\n\r\n`, 'utf8'));
    chunks.push(Buffer.from(part.content), Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${BOUNDARY}--\r\nepilogue`));
  return Buffer.concat(chunks);
}

const WHOLE = body([
  { disposition: 'form-data; name="note"', content: 'hello' },
  { disposition: 'form-data; name="file"; filename="photo.jpg"', content: FILE },
]);

function fileOf(fields: MultipartFields, name: string): { filename?: string; content?: Buffer } {
  const value = fields[name];
  assert.ok(value !== undefined && typeof value !== 'string', `${name} is a file`);
  return value;
}

/** Settles within `ms` or fails: a parser that never settles would hold the Lambda until its timeout. */
async function settled<T>(promise: Promise<T>, ms = 1_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still pending after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

test('parseMultipartBody: well-formed body → fields and files, preamble and epilogue ignored', async () => {
  const fields = await parseMultipartBody(WHOLE, CONTENT_TYPE, 1_000);
  assert.equal(fields.note, 'hello');
  const file = fileOf(fields, 'file');
  assert.equal(file.filename, 'photo.jpg');
  assert.deepEqual(file.content, FILE);
});

test('parseMultipartBody: every truncation of a body → BadRequestError, never a shorter file and never a crash', async () => {
  const closeAt = WHOLE.indexOf(`--${BOUNDARY}--`) + `--${BOUNDARY}--`.length;
  for (let length = 0; length < closeAt; length++) {
    await assert.rejects(settled(parseMultipartBody(WHOLE.subarray(0, length), CONTENT_TYPE, 1_000)), BadRequestError, `cut at ${length}`);
  }
});

test('parseMultipartBody: part whose headers never end → settles at once with no file (BadRequestError or no field), never pending', async () => {
  const hostile = Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="x.jpg"\r\n--${BOUNDARY}--\r\n`);
  // busboy versions differ: some report the broken part as an error, newer ones drop it.
  const outcome = await settled(parseMultipartBody(hostile, CONTENT_TYPE, 1_000), 200).then(
    (fields) => fields,
    (error: unknown) => {
      assert.ok(error instanceof BadRequestError, String(error));
      return null;
    },
  );
  assert.ok(outcome === null || outcome.file === undefined, 'no file is made of a part without a body');
});

test('parseMultipartBody: parts without a name → ignored, no crash', async () => {
  const nameless = body([
    { disposition: 'form-data; filename="x.jpg"', content: FILE },
    { disposition: 'form-data', content: 'value' },
  ]);
  assert.deepEqual({ ...(await settled(parseMultipartBody(nameless, CONTENT_TYPE, 1_000))) }, {});
});

test('parseMultipartBody: same name twice → the first part wins, file or text', async () => {
  const twice = body([
    { disposition: 'form-data; name="file"; filename="first.jpg"', content: FILE },
    { disposition: 'form-data; name="file"; filename="second.jpg"', content: 'second' },
  ]);
  assert.equal(fileOf(await parseMultipartBody(twice, CONTENT_TYPE, 1_000), 'file').filename, 'first.jpg');
  const textFirst = body([
    { disposition: 'form-data; name="file"', content: 'text' },
    { disposition: 'form-data; name="file"; filename="x.jpg"', content: FILE },
  ]);
  assert.equal((await parseMultipartBody(textFirst, CONTENT_TYPE, 1_000)).file, 'text');
  const fileFirst = body([
    { disposition: 'form-data; name="file"; filename="x.jpg"', content: FILE },
    { disposition: 'form-data; name="file"', content: 'text' },
  ]);
  assert.equal(fileOf(await parseMultipartBody(fileFirst, CONTENT_TYPE, 1_000), 'file').filename, 'x.jpg');
});

test('parseMultipartBody: a __proto__ field name → an own field, no prototype pollution', async () => {
  const fields = await parseMultipartBody(body([{ disposition: 'form-data; name="__proto__"', content: 'x' }]), CONTENT_TYPE, 1_000);
  assert.equal(Object.getOwnPropertyDescriptor(fields, '__proto__')?.value, 'x');
  assert.equal(({} as Record<string, unknown>).x, undefined);
});

test('parseMultipartBody: file over the limit → PayloadTooLargeError; exactly the limit → accepted', async () => {
  await assert.rejects(parseMultipartBody(WHOLE, CONTENT_TYPE, FILE.length - 1), PayloadTooLargeError);
  assert.equal(fileOf(await parseMultipartBody(WHOLE, CONTENT_TYPE, FILE.length), 'file').content?.length, FILE.length);
});

test('parseMultipartBody: 10 MB file → parsed whole (the settle check does not fire early)', async () => {
  const big = Buffer.alloc(10 * 1024 * 1024, 7);
  const fields = await parseMultipartBody(body([{ disposition: 'form-data; name="file"; filename="big.jpg"', content: big }]), CONTENT_TYPE, big.length);
  assert.equal(fileOf(fields, 'file').content?.length, big.length);
});

test('parseMultipartBody: content type without a usable boundary → BadRequestError', async () => {
  for (const type of ['multipart/form-data', 'multipart/form-data; boundary=', 'multipart/form-data; charset=utf-8']) {
    await assert.rejects(parseMultipartBody(WHOLE, type, 1_000), BadRequestError, type);
  }
});

test('parseMultipartBody: file names → escaped quotes unescaped, UTF-8 and RFC 5987 decoded, paths reduced to the base name', async () => {
  const cases: Array<[string, string]> = [
    ['filename="my \\"quoted\\" photo.jpg"', 'my "quoted" photo.jpg'],
    ['filename="фото 🌄.jpg"', 'фото 🌄.jpg'],
    ["filename*=UTF-8''%D1%84%D0%BE%D1%82%D0%BE.jpg", 'фото.jpg'],
    ['filename="../../etc/passwd.jpg"', 'passwd.jpg'],
  ];
  for (const [param, expected] of cases) {
    const fields = await parseMultipartBody(body([{ disposition: `form-data; name="file"; ${param}`, content: FILE }]), CONTENT_TYPE, 1_000);
    assert.equal(fileOf(fields, 'file').filename, expected, param);
  }
});

// The upload handler's wiring: the body parser, then multipartFile, then the envelope.
const logger = createLogger({ level: 'silent', file: undefined });
const openAccess = await loadAccess(
  { access: loadConfig({ BUCKET_NAME: 'b', QUEUE_URL: 'q', LIBSQL_URL: ':memory:' }).access, region: 'us-east-1', awsEndpoint: undefined },
  await openDatabase(':memory:'),
);
const echo = httpHandler(
  async (event) => {
    const file = multipartFile(event, 'file');
    return jsonResponse(file ? { filename: file.filename, bytes: file.content.length } : null);
  },
  { logger: () => logger, access: { route: 'write', get: async () => openAccess }, multipart: { maxFileBytes: 1_000 } },
);

async function invoke(headers: Record<string, string>, body: string | null | undefined, isBase64Encoded = false): Promise<{ statusCode: number; body: unknown }> {
  const event = { headers, body, isBase64Encoded, rawPath: '/api/images' } as unknown as HttpEvent;
  const result = (await echo(event, {} as Parameters<typeof echo>[1])) as HttpResult;
  return { statusCode: result.statusCode ?? 0, body: JSON.parse(result.body ?? 'null') };
}

const NOT_MULTIPART = { status: 'error', data: null, error: "Send the image as multipart/form-data in the field 'file'." };

test('httpHandler with multipart: base64 body from API Gateway → the handler gets the file', async () => {
  const res = await invoke({ 'content-type': CONTENT_TYPE }, WHOLE.toString('base64'), true);
  assert.deepEqual(res, { statusCode: 200, body: { status: 'success', data: { filename: 'photo.jpg', bytes: FILE.length }, error: null } });
});

test('httpHandler with multipart: no body (null or undefined), empty body, other or no content type → 400 in the envelope, never 500', async () => {
  const cases: Array<[string, Record<string, string>, string | null | undefined]> = [
    ['null body', { 'content-type': CONTENT_TYPE }, null],
    ['undefined body', { 'content-type': CONTENT_TYPE }, undefined],
    ['empty body', { 'content-type': CONTENT_TYPE }, ''],
    ['text/plain', { 'content-type': 'text/plain' }, 'hello'],
    ['no content type', {}, 'hello'],
    ['cut body', { 'content-type': CONTENT_TYPE }, WHOLE.subarray(0, 100).toString('base64')],
  ];
  for (const [label, headers, body] of cases) {
    assert.deepEqual(await invoke(headers, body, label === 'cut body'), { statusCode: 400, body: NOT_MULTIPART }, label);
  }
});

test('httpHandler with multipart: file over maxFileBytes → 413 stating the limit', async () => {
  const big = body([{ disposition: 'form-data; name="file"; filename="big.jpg"', content: Buffer.alloc(1_001) }]);
  const res = await invoke({ 'content-type': CONTENT_TYPE }, big.toString('base64'), true);
  assert.deepEqual(res, { statusCode: 413, body: { status: 'error', data: null, error: 'File too large. The limit is 1000 bytes.' } });
});
