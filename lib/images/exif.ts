import exifr from 'exifr';

type ExifValue = string | number | number[];

// Only IFD0 (on by default; its typings take no flag) and the EXIF sub-IFD,
// plus GPS on request, are parsed: MakerNote, thumbnails, XMP, ICC and IPTC
// are large, vendor-specific or both, and nothing in them is served.
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

/** Every string served is cut to this many characters. */
export const MAX_EXIF_STRING_LENGTH = 256;

type Kind = 'text' | 'number' | 'date' | 'offset';

/**
 * What the API serves, and nothing else: facts about the camera and the
 * exposure. Serial numbers, owner and artist names, copyright, descriptions,
 * comments, XP* tags and maker notes identify people or devices, or are free
 * text of any length, and are never served. A tag not listed here is dropped.
 */
const SERVED: ReadonlyMap<string, Kind> = new Map<string, Kind>([
  ['Make', 'text'],
  ['Model', 'text'],
  ['LensMake', 'text'],
  ['LensModel', 'text'],
  ['ExposureTime', 'number'],
  ['FNumber', 'number'],
  ['ISO', 'number'],
  ['ExposureProgram', 'number'],
  ['ExposureCompensation', 'number'],
  ['MeteringMode', 'number'],
  ['Flash', 'number'],
  ['FocalLength', 'number'],
  ['FocalLengthIn35mmFormat', 'number'],
  ['DateTimeOriginal', 'date'],
  ['CreateDate', 'date'],
  ['ModifyDate', 'date'],
  ['OffsetTime', 'offset'],
  ['OffsetTimeOriginal', 'offset'],
  ['OffsetTimeDigitized', 'offset'],
  ['Orientation', 'number'],
  ['ImageWidth', 'number'],
  ['ImageHeight', 'number'],
  ['ExifImageWidth', 'number'],
  ['ExifImageHeight', 'number'],
  ['Software', 'text'],
  ['ColorSpace', 'number'],
]);

/** Served only with EXIF_INCLUDE_GPS=true: position, altitude, direction and the fix's time. */
const SERVED_GPS: ReadonlyMap<string, Kind> = new Map<string, Kind>([
  ['latitude', 'number'],
  ['longitude', 'number'],
  ['GPSLatitude', 'number'],
  ['GPSLatitudeRef', 'text'],
  ['GPSLongitude', 'number'],
  ['GPSLongitudeRef', 'text'],
  ['GPSAltitude', 'number'],
  ['GPSAltitudeRef', 'number'],
  ['GPSImgDirection', 'number'],
  ['GPSImgDirectionRef', 'text'],
  ['GPSSpeed', 'number'],
  ['GPSSpeedRef', 'text'],
  ['GPSDateStamp', 'text'],
  ['GPSTimeStamp', 'number'],
]);

// A few numbers (degrees/minutes/seconds, an ISO pair) are facts; longer
// arrays are tables, not something a reader displays.
const MAX_ARRAY_LENGTH = 4;

/**
 * The served EXIF tags of a JPEG or PNG as a JSON-ready object, or null when
 * there is none or it cannot be read. Never throws: broken or hostile EXIF
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
    const kind = SERVED.get(key) ?? (options.includeGps ? SERVED_GPS.get(key) : undefined);
    if (kind === undefined) continue;
    const clean = toServedValue(kind, value);
    if (clean !== undefined) tags[key] = clean;
  }
  return Object.keys(tags).length > 0 ? tags : null;
}

function toServedValue(kind: Kind, value: unknown): ExifValue | undefined {
  // A single BYTE (GPSAltitudeRef) comes as a one-element Uint8Array.
  const scalar = value instanceof Uint8Array && value.length === 1 ? value[0] : value;
  switch (kind) {
    case 'number':
      return numberValue(scalar);
    case 'text':
      return typeof scalar === 'string' ? cleanString(scalar) : undefined;
    case 'date':
      return typeof scalar === 'string' ? cameraDate(scalar) : undefined;
    case 'offset':
      return typeof scalar === 'string' && /^[+-](?:[01]\d|2[0-3]):[0-5]\d$/.test(scalar.trim()) ? scalar.trim() : undefined;
  }
}

function numberValue(value: unknown): number | number[] | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  const items = Array.isArray(value) || (ArrayBuffer.isView(value) && !(value instanceof DataView))
    ? Array.from(value as ArrayLike<unknown>)
    : undefined;
  if (items === undefined || items.length === 0 || items.length > MAX_ARRAY_LENGTH) return undefined;
  const numbers: number[] = [];
  for (const item of items) {
    if (typeof item !== 'number' || !Number.isFinite(item)) return undefined;
    numbers.push(item);
  }
  return numbers;
}

const CAMERA_DATE = /^(\d{4}):(\d{2}):(\d{2}) (\d{2}):(\d{2}):(\d{2})$/;

/**
 * A date as the camera wrote it ("2008:05:30 15:56:01"), kept only when it is
 * a real moment: cameras without a set clock write "0000:00:00 00:00:00" or
 * blanks, and hostile files anything at all.
 */
function cameraDate(raw: string): string | undefined {
  const text = cleanString(raw);
  const match = text === undefined ? null : CAMERA_DATE.exec(text);
  if (!match) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1).map(Number) as [number, number, number, number, number, number];
  if (year < 1800 || month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return undefined;
  // Day 0 of the next month is the last day of this one, leap years included.
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  return day <= daysInMonth ? text : undefined;
}

// Matches one UTF-16 surrogate that has no partner (no `u` flag, on purpose).
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * Cameras pad fixed-size fields with NULs or spaces, and text after a NUL is
 * leftover memory. Lone surrogates become U+FFFD so the text stays valid
 * UTF-8 wherever it is stored. Anything longer than MAX_EXIF_STRING_LENGTH is
 * cut there (never inside a surrogate pair): no camera name is that long.
 */
function cleanString(value: string): string | undefined {
  const nul = value.indexOf('\0');
  let text = (nul === -1 ? value : value.slice(0, nul)).trim();
  if (text.length > MAX_EXIF_STRING_LENGTH) {
    const cut = /[\uD800-\uDBFF]/.test(text.charAt(MAX_EXIF_STRING_LENGTH - 1)) ? MAX_EXIF_STRING_LENGTH - 1 : MAX_EXIF_STRING_LENGTH;
    text = text.slice(0, cut).trimEnd();
  }
  text = text.replace(LONE_SURROGATE, '\uFFFD');
  return text === '' ? undefined : text;
}
