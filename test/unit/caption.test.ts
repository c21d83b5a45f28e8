import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { InferenceClient, InferenceClientProviderOutputError } from '@huggingface/inference';
import { CaptionError } from '../../lib/images/caption-error.ts';
import { createCaptioner } from '../../lib/images/caption.ts';
import type { Captioner } from '../../lib/images/caption.ts';
import { startFakeCaptionServer } from '../support/fake-caption-server.ts';
import type { FakeCaptionServer } from '../support/fake-caption-server.ts';

// Not a decodable JPEG: the protocol only moves bytes, and so does the fake.
const IMAGE = Buffer.from([0xff, 0xd8, 0xff, 0xe0, ...Array.from({ length: 1020 }, (_, i) => i % 256)]);
const TIMEOUT_MS = 300;

function endpointCaptioner(url: string, token?: string): Captioner {
  const captioner = createCaptioner({ mode: 'endpoint', endpointUrl: url, token, timeoutMs: TIMEOUT_MS });
  assert.ok(captioner);
  return captioner;
}

async function captionError(promise: Promise<unknown>): Promise<CaptionError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof CaptionError, `expected a CaptionError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected the caption call to fail');
}

describe('captioner (endpoint) against the fake caption server', () => {
  let server: FakeCaptionServer;

  before(async () => {
    server = await startFakeCaptionServer();
  });
  after(async () => {
    await server.close();
  });
  beforeEach(() => {
    server.requests.length = 0;
    server.setBehaviour({ kind: 'caption', text: 'a photo' });
  });

  test('captioner (endpoint): caption answer → trimmed caption', async () => {
    server.setBehaviour({ kind: 'caption', text: '  a dog running on a beach \n' });
    const captioner = endpointCaptioner(`${server.url}/models/blip`);
    assert.equal(captioner.mode, 'endpoint');
    assert.equal(await captioner.caption(IMAGE), 'a dog running on a beach');
  });

  test('captioner (endpoint): request → image bytes as image/jpeg to the endpoint path, Bearer token', async () => {
    await endpointCaptioner(`${server.url}/models/blip`, 'hf_test_token').caption(IMAGE);
    assert.equal(server.requests.length, 1);
    const [request] = server.requests;
    assert.deepEqual(request, {
      path: '/models/blip',
      contentType: 'image/jpeg',
      bytes: IMAGE.length,
      authorization: 'Bearer hf_test_token',
    });
  });

  test('captioner (endpoint): no token → no Authorization header', async () => {
    await endpointCaptioner(server.url).caption(IMAGE);
    assert.equal(server.requests[0]?.authorization, undefined);
  });

  test('captioner (endpoint): array answer [{generated_text}] → its caption', async () => {
    server.setBehaviour({ kind: 'array', text: ' a red bicycle ' });
    assert.equal(await endpointCaptioner(server.url).caption(IMAGE), 'a red bicycle');
  });

  // Guards the reason caption.ts unwraps arrays: if a client upgrade accepts them,
  // this fails and the unwrapping can go.
  test('raw InferenceClient (endpoint): array answer → ProviderOutputError', async () => {
    server.setBehaviour({ kind: 'array', text: 'a red bicycle' });
    const client = new InferenceClient('', { endpointUrl: server.url });
    await assert.rejects(
      client.imageToText({ inputs: new Blob([new Uint8Array(IMAGE)], { type: 'image/jpeg' }) }, { retry_on_error: false }),
      InferenceClientProviderOutputError,
    );
  });

  test('captioner (endpoint): empty caption → non-retryable CaptionError', async () => {
    server.setBehaviour({ kind: 'caption', text: '  \n' });
    const error = await captionError(endpointCaptioner(server.url).caption(IMAGE));
    assert.equal(error.retryable, false);
    assert.equal(error.status, undefined);
  });

  test('captioner (endpoint): 200 without generated_text → non-retryable CaptionError', async () => {
    server.setBehaviour({ kind: 'status', status: 200, body: { caption: 'wrong field' } });
    const error = await captionError(endpointCaptioner(server.url).caption(IMAGE));
    assert.equal(error.retryable, false);
    assert.match(error.message, /malformed/);
  });

  test('captioner (endpoint): 503 → retryable CaptionError after one request', async () => {
    server.setBehaviour({ kind: 'status', status: 503, body: { error: 'Model is currently loading' } });
    const error = await captionError(endpointCaptioner(server.url).caption(IMAGE));
    assert.equal(error.retryable, true);
    assert.equal(error.status, 503);
    assert.match(error.message, /503.*Model is currently loading/);
    // Give a retry storm, if there were one, time to show up.
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(server.requests.length, 1);
  });

  test('captioner (endpoint): 429 → retryable CaptionError with status 429', async () => {
    server.setBehaviour({ kind: 'status', status: 429, body: 'Rate limit reached' });
    const error = await captionError(endpointCaptioner(server.url).caption(IMAGE));
    assert.equal(error.retryable, true);
    assert.equal(error.status, 429);
  });

  test('captioner (endpoint): 400 → non-retryable CaptionError with status 400', async () => {
    server.setBehaviour({ kind: 'status', status: 400, body: { error: 'cannot identify image file' } });
    const error = await captionError(endpointCaptioner(server.url).caption(IMAGE));
    assert.equal(error.retryable, false);
    assert.equal(error.status, 400);
  });

  test('captioner (endpoint): 401 → non-retryable CaptionError, token not in the message', async () => {
    server.setBehaviour({ kind: 'status', status: 401, body: { error: 'Invalid credentials in Authorization header' } });
    const error = await captionError(endpointCaptioner(server.url, 'hf_secret_token').caption(IMAGE));
    assert.equal(error.retryable, false);
    assert.equal(error.status, 401);
    assert.doesNotMatch(`${error.message} ${String(error.stack)} ${JSON.stringify(error)}`, /hf_secret_token/);
  });

  test('captioner (endpoint): hang → retryable CaptionError after about timeoutMs', async () => {
    server.setBehaviour({ kind: 'hang' });
    const started = performance.now();
    const error = await captionError(endpointCaptioner(server.url).caption(IMAGE));
    const elapsed = performance.now() - started;
    assert.equal(error.retryable, true);
    assert.equal(error.status, undefined);
    assert.match(error.message, /timed out/);
    assert.ok(elapsed >= TIMEOUT_MS - 20 && elapsed < TIMEOUT_MS + 700, `took ${Math.round(elapsed)} ms`);
  });

  test('captioner (endpoint): answer slower than timeoutMs → retryable CaptionError', async () => {
    server.setBehaviour({ kind: 'caption', text: 'too late', delayMs: TIMEOUT_MS + 200 });
    const error = await captionError(endpointCaptioner(server.url).caption(IMAGE));
    assert.equal(error.retryable, true);
  });
});

test('captioner (endpoint): connection refused → retryable CaptionError', async () => {
  const server = await startFakeCaptionServer();
  const url = server.url;
  await server.close();
  const error = await captionError(endpointCaptioner(url).caption(IMAGE));
  assert.equal(error.retryable, true);
  assert.equal(error.status, undefined);
  assert.match(error.message, /unreachable/);
});

test('createCaptioner: mode off → null', () => {
  assert.equal(createCaptioner({ mode: 'off' }), null);
});

test('createCaptioner: mode hosted → captioner with mode hosted (no request made)', () => {
  const captioner = createCaptioner({
    mode: 'hosted',
    token: 'hf_test_token',
    model: 'Salesforce/blip-image-captioning-large',
    timeoutMs: TIMEOUT_MS,
  });
  assert.equal(captioner?.mode, 'hosted');
  assert.doesNotMatch(JSON.stringify(captioner), /hf_test_token/);
});
