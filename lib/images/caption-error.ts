// What a caption attempt can fail with. A module of its own so that the
// pipeline can tell the kinds apart without loading the caption client
// (lib/images/caption.ts), which only the processor with captions on needs.

export class CaptionError extends Error {
  readonly retryable: boolean;
  /** HTTP status of the caption service's answer, when there was one. */
  readonly status: number | undefined;

  constructor(message: string, options: { retryable: boolean; status?: number; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CaptionError';
    this.retryable = options.retryable;
    this.status = options.status;
  }
}
