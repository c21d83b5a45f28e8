import exifr from 'exifr';

type ExifValue = string | number | number[] | string[];

// Only IFD0 (on by default; its typings take no flag) and the EXIF sub-IFD,
// plus GPS on request, are parsed: MakerNote, thumbnails, XMP, ICC and IPTC
// are large, vendor-specific or both.
// `tiff` is deliberately absent: `tiff: true` force-enables every TIFF block,
// GPS and interop included, overriding `gps: false`.
// translateValues off keeps Orientation etc. as their numbers; reviveValues
// off keeps dates as the camera wrote them ("2008:05:30 15:56:01"), because a
// revived Date would be read in the server's time zone and shift the moment.
// silentErrors (the default, made explicit) returns what was readable when
// one block is broken, instead of nothing.
// Two fixed objects so exifr's per-options-object cache is hit on every call.
const BASE_OPTIONS = {
  exif: true,
  interop: false,
  ifd1: false,
  makerNote: false,
  userComment: false,
  xmp: false,
  icc: false,
  iptc: false,
  jfif: false,
  ihdr: false,
  translateKeys: true,
  translateValues: false,
  reviveValues: false,
  sanitize: true,
  mergeOutput: true,
  silentErrors: true,
} as const;
const WITH_GPS = { ...BASE_OPTIONS, gps: true } as const;
const WITHOUT_GPS = { ...BASE_OPTIONS, gps: false } as const;

// silentErrors puts the Error objects it swallowed under `errors`.
const DROPPED_KEYS = new Set(['errors', 'MakerNote', 'UserComment', 'PrintIM']);

// Long numeric arrays are tables (tone curves, private data), not facts a
// caller displays; they only bloat the stored row.
const MAX_ARRAY_LENGTH = 64;

/**
 * The useful EXIF tags of a JPEG or PNG as a JSON-ready object, or null when
 * there is no EXIF or it cannot be read. Never throws: broken or hostile EXIF
 * must not fail the image, and the caller decides what to log.
 */
export async function readExif(
  original: Buffer,
  options: { includeGps: boolean },
): Promise<Record<string, unknown> | null> {
  let parsed: unknown;
  try {
    parsed = await exifr.parse(original, options.includeGps ? WITH_GPS : WITHOUT_GPS);
  } catch {
    return null;
  }
  if (parsed === null || typeof parsed !== 'object') return null;

  const tags: Record<string, ExifValue> = {};
  for (const [key, value] of Object.entries(parsed)) {
    // Untranslated keys are unknown private tags: a bare number means nothing to a reader.
    if (DROPPED_KEYS.has(key) || /^\d+$/.test(key)) continue;
    if (!options.includeGps && isGpsKey(key)) continue;
    const clean = toJsonValue(key, value);
    if (clean !== undefined) tags[key] = clean;
  }
  return Object.keys(tags).length > 0 ? tags : null;
}

function isGpsKey(key: string): boolean {
  return key.startsWith('GPS') || key === 'latitude' || key === 'longitude';
}

function toJsonValue(key: string, value: unknown): ExifValue | undefined {
  if (typeof value === 'string') return cleanString(value);
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (value instanceof Uint8Array) return decodeBytes(key, value);
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    return numberArray(Array.from(value as unknown as ArrayLike<unknown>));
  }
  if (Array.isArray(value)) {
    if (value.every((item) => typeof item === 'string')) {
      const strings = value.map(cleanString).filter((s) => s !== undefined);
      return strings.length > 0 && strings.length <= MAX_ARRAY_LENGTH ? strings : undefined;
    }
    return numberArray(value);
  }
  // Dates (not produced with reviveValues off), bigints, nested objects: not worth guessing.
  return undefined;
}

function numberArray(values: readonly unknown[]): number[] | undefined {
  if (values.length === 0 || values.length > MAX_ARRAY_LENGTH) return undefined;
  const numbers: number[] = [];
  for (const item of values) {
    if (typeof item !== 'number' || !Number.isFinite(item)) return undefined;
    numbers.push(item);
  }
  return numbers;
}

// Matches one UTF-16 surrogate that has no partner (no `u` flag, on purpose).
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * Cameras pad fixed-size fields with NULs or spaces, and text after a NUL is
 * leftover memory. Lone surrogates (possible in hostile XP* tags) become U+FFFD
 * so the text stays valid UTF-8 wherever it is stored.
 */
function cleanString(value: string): string | undefined {
  const nul = value.indexOf('\0');
  const text = (nul === -1 ? value : value.slice(0, nul)).trim().replace(LONE_SURROGATE, '\uFFFD');
  return text === '' ? undefined : text;
}

/**
 * Byte-typed tags: keep only what decodes without guessing. Windows XP* tags
 * are UTF-16LE text, a single byte is a number (GPSAltitudeRef), and
 * printable ASCII is a version string (ExifVersion "0230"); the rest
 * (ComponentsConfiguration, private blobs) is dropped.
 */
function decodeBytes(key: string, bytes: Uint8Array): ExifValue | undefined {
  if (key.startsWith('XP')) {
    return cleanString(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf16le'));
  }
  if (bytes.length === 1) return bytes[0];
  let end = bytes.length;
  while (end > 0 && bytes[end - 1] === 0) end--;
  if (end === 0) return undefined;
  for (let i = 0; i < end; i++) {
    const byte = bytes[i];
    if (byte === undefined || byte < 0x20 || byte > 0x7e) return undefined;
  }
  return cleanString(Buffer.from(bytes.buffer, bytes.byteOffset, end).toString('latin1'));
}
