// BLIP captions through @huggingface/inference, either the hosted hf-inference
// provider or any endpoint speaking its protocol (POST raw image bytes, answer
// `{"generated_text": "..."}`). Every failure becomes a CaptionError whose
// `retryable` flag tells the pipeline whether the message should go back to the
// queue or the caption be given up on.
import {
  InferenceClient,
  InferenceClientHubApiError,
  InferenceClientProviderApiError,
  InferenceClientProviderOutputError,
} from '@huggingface/inference';
import type { CaptionConfig } from '../config.ts';
import { CaptionError } from './caption-error.ts';

export interface Captioner {
  readonly mode: 'hosted' | 'endpoint';
  /** `image` is the 512 px JPEG thumbnail: the original can be tens of MB. */
  caption(image: Buffer): Promise<string>;
}

type ImageToTextArgs = Parameters<InferenceClient['imageToText']>[0];

/** `null` when captions are switched off. */
export function createCaptioner(config: CaptionConfig): Captioner | null {
  switch (config.mode) {
    case 'off':
      return null;
    case 'hosted':
      // An explicit provider avoids the client's "auto" policy, which asks the Hub
      // for the user's provider order and logs to the console on every call.
      return captioner('hosted', new InferenceClient(config.token), { model: config.model, provider: 'hf-inference' }, config.timeoutMs);
    case 'endpoint':
      // No provider here: the client rejects endpointUrl combined with a provider.
      return captioner('endpoint', new InferenceClient(config.token ?? '', { endpointUrl: config.endpointUrl }), {}, config.timeoutMs);
  }
}

function captioner(
  mode: Captioner['mode'],
  client: InferenceClient,
  target: Pick<ImageToTextArgs, 'model' | 'provider'>,
  timeoutMs: number,
): Captioner {
  // The client lives in this closure, not on a property: it holds the token, and a
  // captioner passed to a logger must not print it.
  return {
    mode,
    async caption(image: Buffer): Promise<string> {
      const signal = AbortSignal.timeout(timeoutMs);
      let text: unknown;
      try {
        const output = await client.imageToText(
          // The client sends the body as is; fetch takes the Content-Type from the Blob.
          { ...target, inputs: new Blob([new Uint8Array(image)], { type: 'image/jpeg' }) },
          // retry_on_error defaults to true, which re-sends a 503 at once and forever.
          { retry_on_error: false, signal, fetch: captionFetch(signal) },
        );
        text = output.generated_text;
      } catch (error) {
        throw toCaptionError(error, signal, timeoutMs);
      }
      const caption = typeof text === 'string' ? text.trim() : '';
      if (!caption) throw new CaptionError('Caption service returned an empty caption', { retryable: false });
      return caption;
    },
  };
}

/**
 * The fetch the client uses for this call. It does two things the client will not:
 * - gives every request the call's timeout signal; the hosted path's Hub lookup
 *   (which provider serves the model) is fetched without the caller's signal;
 * - unwraps `[{"generated_text": ...}]`, the shape hf-inference and the stock
 *   pipeline containers answer with, which the client rejects as malformed
 *   (it only accepts a bare object). Unwrapping before the client parses keeps
 *   its own status and error handling intact, whereas catching its
 *   ProviderOutputError afterwards would leave no body to read.
 */
function captionFetch(signal: AbortSignal): typeof fetch {
  return async (input, init) => {
    const response = await fetch(input, { ...init, signal: init?.signal ?? signal });
    if (init?.method !== 'POST' || !response.ok) return response;
    if (!response.headers.get('content-type')?.startsWith('application/json')) return response;

    const body = await response.text();
    const headers = new Headers(response.headers);
    // The body is re-served decoded and possibly shorter than what was on the wire.
    headers.delete('content-length');
    headers.delete('content-encoding');
    const rebuilt = { status: response.status, statusText: response.statusText, headers };
    const first = firstOfArray(body);
    return new Response(first === undefined ? body : JSON.stringify(first), rebuilt);
  };
}

function firstOfArray(body: string): unknown {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    // Left for the client to fail on, so malformed JSON is reported the same way everywhere.
    return undefined;
  }
  if (!Array.isArray(parsed)) return undefined;
  const first: unknown = parsed[0];
  if (typeof first === 'object' && first !== null && 'generated_text' in first) return first;
  return undefined;
}

const MAX_DETAIL = 120;

function toCaptionError(error: unknown, signal: AbortSignal, timeoutMs: number): CaptionError {
  if (error instanceof CaptionError) return error;

  // Checked first: an abort can surface as an AbortError, a TimeoutError or a
  // TypeError depending on whether it hit the connect, the headers or the body.
  if (signal.aborted) {
    return new CaptionError(`Caption request timed out after ${timeoutMs} ms`, { retryable: true });
  }

  if (error instanceof InferenceClientProviderApiError || error instanceof InferenceClientHubApiError) {
    const status = error.httpResponse.status;
    const detail = providerDetail(error.message);
    const where = error instanceof InferenceClientHubApiError ? 'Hugging Face Hub' : 'Caption service';
    // The client's error carries the request (headers redacted, but still the URL
    // and more): it is not kept as the cause so nothing of it reaches the logs.
    return new CaptionError(`${where} answered HTTP ${status}${detail ? ` (${detail})` : ''}`, {
      retryable: isRetryableStatus(status),
      status,
    });
  }

  if (error instanceof InferenceClientProviderOutputError || error instanceof SyntaxError) {
    return new CaptionError('Caption service gave a malformed answer', { retryable: false });
  }

  // undici: "fetch failed" when connecting or sending fails, "terminated" when the
  // connection drops while the answer is being read.
  if (error instanceof TypeError && (error.message === 'fetch failed' || error.message === 'terminated')) {
    const code = systemCode(error.cause);
    return new CaptionError(`Caption service unreachable${code ? ` (${code})` : ''}`, {
      retryable: true,
      cause: error.cause,
    });
  }

  // Input and routing errors (model not served by hf-inference, bad arguments) and
  // anything unforeseen: sending the same request again will not fix them.
  const message = error instanceof Error ? error.message : String(error);
  return new CaptionError(`Caption request failed: ${truncate(message)}`, { retryable: false });
}

function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

function providerDetail(message: string): string | undefined {
  const detail = message.replace(/^Failed to perform inference:\s*/, '').trim();
  if (!detail || detail.startsWith('an HTTP error occurred')) return undefined;
  return truncate(detail);
}

function systemCode(cause: unknown): string | undefined {
  if (typeof cause !== 'object' || cause === null || !('code' in cause)) return undefined;
  return typeof cause.code === 'string' ? cause.code : undefined;
}

function truncate(text: string): string {
  const oneLine = text.replace(/\s+/g, ' ');
  return oneLine.length > MAX_DETAIL ? `${oneLine.slice(0, MAX_DETAIL - 1)}…` : oneLine;
}
