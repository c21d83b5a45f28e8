// CAPTION_ENDPOINT_URL rules: https (http only on loopback), and the Hugging
// Face token sent only to Hugging Face's hosts unless the operator opts in.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { captionConfigWithToken, isHuggingFaceHost, loadConfig } from '../../lib/config.ts';
import type { CaptionConfig } from '../../lib/config.ts';
import { ConfigError } from '../../lib/errors.ts';
import { createCaptioner } from '../../lib/images/caption.ts';
import { startFakeCaptionServer } from '../support/fake-caption-server.ts';
import type { FakeCaptionServer } from '../support/fake-caption-server.ts';

const BASE = { BUCKET_NAME: 'bucket', QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/1/jobs', LIBSQL_URL: 'file:x.db' };
const caption = (env: Record<string, string>): CaptionConfig => loadConfig({ ...BASE, ...env }).caption;
const endpointToken = (config: CaptionConfig): string | undefined => (config.mode === 'endpoint' ? config.token : 'not an endpoint');

describe('CAPTION_ENDPOINT_URL scheme', () => {
  for (const url of ['https://x.endpoints.huggingface.cloud', 'https://captions.example.com/blip', 'http://127.0.0.1:5005', 'http://localhost:5005', 'http://[::1]:5005']) {
    test(`${url} → accepted`, () => {
      assert.equal(caption({ CAPTION_ENDPOINT_URL: url }).mode, 'endpoint');
    });
  }
  for (const url of ['http://captions.example.com', 'http://10.0.0.5:8080', 'ftp://captions.example.com', 'file:///etc/passwd', 'not a url']) {
    test(`${url} → ConfigError naming CAPTION_ENDPOINT_URL`, () => {
      assert.throws(() => caption({ CAPTION_ENDPOINT_URL: url }), (error: unknown) => error instanceof ConfigError && /CAPTION_ENDPOINT_URL/.test(error.message));
    });
  }
});

describe('HF_TOKEN with an endpoint', () => {
  test('a Hugging Face Inference Endpoint → gets the token', () => {
    assert.equal(endpointToken(caption({ CAPTION_ENDPOINT_URL: 'https://abc.us-east-1.aws.endpoints.huggingface.cloud', HF_TOKEN: 'hf_x' })), 'hf_x');
    assert.equal(endpointToken(caption({ CAPTION_ENDPOINT_URL: 'https://router.huggingface.co/hf-inference/models/m', HF_TOKEN: 'hf_x' })), 'hf_x');
  });

  test('any other host → no token, unless CAPTION_ENDPOINT_SEND_TOKEN=true', () => {
    assert.equal(endpointToken(caption({ CAPTION_ENDPOINT_URL: 'https://captions.example.com', HF_TOKEN: 'hf_x' })), undefined);
    assert.equal(endpointToken(caption({ CAPTION_ENDPOINT_URL: 'https://huggingface.co.evil.example', HF_TOKEN: 'hf_x' })), undefined);
    assert.equal(endpointToken(caption({ CAPTION_ENDPOINT_URL: 'https://evilhuggingface.co', HF_TOKEN: 'hf_x' })), undefined);
    assert.equal(
      endpointToken(caption({ CAPTION_ENDPOINT_URL: 'https://captions.example.com', HF_TOKEN: 'hf_x', CAPTION_ENDPOINT_SEND_TOKEN: 'true' })),
      'hf_x',
    );
  });

  test('the token read from SSM follows the same rule', () => {
    assert.equal(endpointToken(captionConfigWithToken('hf_x', { CAPTION_ENDPOINT_URL: 'https://captions.example.com' })), undefined);
    assert.equal(endpointToken(captionConfigWithToken('hf_x', { CAPTION_ENDPOINT_URL: 'https://x.endpoints.huggingface.cloud' })), 'hf_x');
  });

  test('isHuggingFaceHost: the domains and their subdomains only', () => {
    for (const host of ['huggingface.co', 'router.huggingface.co', 'HF.co', 'x.endpoints.huggingface.cloud', 'space.hf.space', 'huggingface.co.']) {
      assert.equal(isHuggingFaceHost(host), true, host);
    }
    for (const host of ['huggingface.com', 'notuggingface.co', 'huggingface.co.example.com', 'example.com']) assert.equal(isHuggingFaceHost(host), false, host);
  });
});

describe('the captioner built from that configuration', () => {
  let server: FakeCaptionServer;
  before(async () => {
    server = await startFakeCaptionServer({ text: 'a photo' });
  });
  after(() => server.close());

  test('loopback endpoint with HF_TOKEN set → the request carries no Authorization header', async () => {
    const captioner = createCaptioner(caption({ CAPTION_ENDPOINT_URL: server.url, HF_TOKEN: 'hf_secret' }));
    assert.equal(await captioner?.caption(Buffer.from('bytes')), 'a photo');
    assert.equal(server.requests.at(-1)?.authorization, undefined);
  });

  test('the same with CAPTION_ENDPOINT_SEND_TOKEN=true → Bearer hf_secret', async () => {
    const captioner = createCaptioner(caption({ CAPTION_ENDPOINT_URL: server.url, HF_TOKEN: 'hf_secret', CAPTION_ENDPOINT_SEND_TOKEN: 'true' }));
    assert.equal(await captioner?.caption(Buffer.from('bytes')), 'a photo');
    assert.equal(server.requests.at(-1)?.authorization, 'Bearer hf_secret');
  });
});
