// Serving the gallery (web/, built into the function's bundle): the page at
// the API's root and its script and style sheet under gallery/, from memory.
import type { Config } from './config.ts';
import { RouteNotFoundError } from './errors.ts';
import type { HttpResult } from './http.ts';

export interface GalleryPage {
  html: string;
  /** By file name, which changes with the content (a hash). */
  assets: Record<string, { contentType: string; body: string }>;
}

/**
 * Where the page's direct uploads go: the local upload gateway, or the
 * bucket's S3 endpoints (virtual-hosted, regional and global).
 */
export function directUploadOrigins(config: Pick<Config, 'directUpload' | 'bucketName' | 'region'>): string[] {
  if (config.directUpload.endpoint !== undefined) return [new URL(config.directUpload.endpoint).origin];
  return [`https://${config.bucketName}.s3.${config.region}.amazonaws.com`, `https://${config.bucketName}.s3.amazonaws.com`];
}

/**
 * The page may only load its own script and style, and talk to its own
 * origin and to storage for direct uploads: an injected <script> or a
 * thumbnail URL cannot pull in anything else. Thumbnails are same-origin
 * URLs (absolute ones under PUBLIC_BASE_URL are the same origin too).
 */
function contentSecurityPolicy(uploadOrigins: readonly string[]): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    ["connect-src 'self'", ...uploadOrigins].join(' '),
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** `asset` undefined: the page itself. @throws RouteNotFoundError for an asset the page does not have. */
export function galleryResponse(page: GalleryPage, asset: string | undefined, options: { uploadOrigins: readonly string[] }): HttpResult {
  if (asset === undefined) {
    return {
      statusCode: 200,
      headers: {
        'content-type': 'text/html; charset=utf-8',
        // The page names its assets by content: always ask for the page itself again, so a new version shows at once.
        'cache-control': 'no-cache',
        'content-security-policy': contentSecurityPolicy(options.uploadOrigins),
        'referrer-policy': 'no-referrer',
      },
      body: page.html,
    };
  }
  const file = Object.hasOwn(page.assets, asset) ? page.assets[asset] : undefined;
  if (!file) throw new RouteNotFoundError();
  return { statusCode: 200, headers: { 'content-type': file.contentType, 'cache-control': 'public, max-age=31536000, immutable' }, body: file.body };
}
