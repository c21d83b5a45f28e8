// Serving the gallery (web/, built into the function's bundle): the page at
// the API's root and its script and style sheet under gallery/, from memory.
import { RouteNotFoundError } from './errors.ts';
import type { HttpResult } from './http.ts';

export interface GalleryPage {
  html: string;
  /** By file name, which changes with the content (a hash). */
  assets: Record<string, { contentType: string; body: string }>;
}

/**
 * The page may only load its own script and style, and talk to its own
 * origin: an injected <script> or a thumbnail URL cannot pull in anything
 * else. Thumbnails are same-origin URLs (absolute ones under PUBLIC_BASE_URL
 * are the same origin too).
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** `asset` undefined: the page itself. @throws RouteNotFoundError for an asset the page does not have. */
export function galleryResponse(page: GalleryPage, asset: string | undefined): HttpResult {
  if (asset === undefined) {
    return {
      statusCode: 200,
      headers: {
        'content-type': 'text/html; charset=utf-8',
        // The page names its assets by content: always ask for the page itself again, so a new version shows at once.
        'cache-control': 'no-cache',
        'content-security-policy': CONTENT_SECURITY_POLICY,
        'referrer-policy': 'no-referrer',
      },
      body: page.html,
    };
  }
  const file = Object.hasOwn(page.assets, asset) ? page.assets[asset] : undefined;
  if (!file) throw new RouteNotFoundError();
  return { statusCode: 200, headers: { 'content-type': file.contentType, 'cache-control': 'public, max-age=31536000, immutable' }, body: file.body };
}
