// Signed thumbnail URLs. Browsers cannot put a header on <img src>, so when
// reads need a credential the URLs handed out carry their own: an HMAC over
// the image id, the size and an expiry. A link grants that one thumbnail
// until it expires, nothing else. Hand-written because it is a few lines of
// node:crypto; a presigned S3 GET would expose the bucket's host and need the
// bucket reachable from browsers.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const EXPIRES_PARAM = 'expires';
export const SIGNATURE_PARAM = 'signature';

export interface ThumbnailLinkSigner {
  /** `expires` and `signature` query parameters for this thumbnail. */
  sign(id: string, size: string): string;
  /** True while the parameters are a live signature of exactly this thumbnail. */
  verify(id: string, size: string, query: Record<string, string | undefined>): boolean;
}

export function createThumbnailLinkSigner(options: { secret: string; ttlSeconds: number; now?: () => number }): ThumbnailLinkSigner {
  const now = options.now ?? Date.now;
  const mac = (id: string, size: string, expires: number): Buffer =>
    createHmac('sha256', options.secret).update(`thumbnail\n${id}\n${size}\n${expires}`).digest();
  // Expiries rounded up to a tenth of the lifetime: a list fetched twice in a
  // row gives the same URLs, so the browser's cache still works.
  const step = Math.max(1, Math.floor(options.ttlSeconds / 10));
  return {
    sign(id, size) {
      const expires = Math.ceil((Math.floor(now() / 1000) + options.ttlSeconds) / step) * step;
      return `${EXPIRES_PARAM}=${expires}&${SIGNATURE_PARAM}=${mac(id, size, expires).toString('base64url')}`;
    },
    verify(id, size, query) {
      const rawExpires = query[EXPIRES_PARAM];
      const rawSignature = query[SIGNATURE_PARAM];
      if (rawExpires === undefined || rawSignature === undefined || !/^\d{1,12}$/.test(rawExpires)) return false;
      const expires = Number(rawExpires);
      if (expires * 1000 <= now()) return false;
      const expected = mac(id, size, expires);
      const given = Buffer.from(rawSignature, 'base64url');
      return given.length === expected.length && timingSafeEqual(given, expected);
    },
  };
}
