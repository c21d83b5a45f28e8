// The thumbnail sizes, apart from the sharp code that renders them, so that
// the functions that only serve thumbnails do not bundle sharp.

/** Longest edge in pixels of each thumbnail. */
export const THUMBNAIL_SIZES = { small: 128, medium: 512 } as const;

export type ThumbnailSize = keyof typeof THUMBNAIL_SIZES;

export function isThumbnailSize(s: string): s is ThumbnailSize {
  return Object.hasOwn(THUMBNAIL_SIZES, s);
}
