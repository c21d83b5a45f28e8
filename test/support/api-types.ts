// The specification's response shapes as the end-to-end tests read them.

// Own copy rather than lib/http.ts's Envelope: these tests read answers they
// expect to succeed, so `data` is T, not T | null, and needs no check each time.
export interface Envelope<T> {
  status: string;
  data: T;
  error: string | null;
}

export type { ImageDetail } from '../../lib/presenters.ts';
