export type ImageFormat = 'jpg' | 'png';

export const CONTENT_TYPES: Record<ImageFormat, string> = {
  jpg: 'image/jpeg',
  png: 'image/png',
};

const JPEG_MAGIC = [0xff, 0xd8, 0xff] as const;
// The full signature, not just "\x89PNG": its CR LF / LF bytes catch files
// mangled by text-mode transfers, which would not decode anyway.
const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a] as const;

/**
 * The format the bytes claim to be, from magic bytes alone. The client's
 * Content-Type and file name are not trusted: a HEIC renamed to .jpg or an
 * HTML page posted as image/png must be refused here.
 */
export function sniffImageFormat(bytes: Uint8Array): ImageFormat | null {
  if (startsWith(bytes, JPEG_MAGIC)) return 'jpg';
  if (startsWith(bytes, PNG_MAGIC)) return 'png';
  return null;
}

function startsWith(bytes: Uint8Array, magic: readonly number[]): boolean {
  if (bytes.length < magic.length) return false;
  return magic.every((byte, i) => bytes[i] === byte);
}
