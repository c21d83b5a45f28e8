// The served EXIF (a JSON string of an allowlist, lib/images/exif.ts) as rows
// a person reads: camera, lens, exposure, date taken; other tags as they are.

type Exif = Record<string, unknown>;

const EXPOSURE_PROGRAMS = ['Not defined', 'Manual', 'Normal program', 'Aperture priority', 'Shutter priority', 'Creative program', 'Action program', 'Portrait mode', 'Landscape mode'];
const METERING_MODES: Record<number, string> = { 0: 'Unknown', 1: 'Average', 2: 'Center-weighted average', 3: 'Spot', 4: 'Multi-spot', 5: 'Pattern', 6: 'Partial', 255: 'Other' };

const num = (value: unknown): number | undefined => (typeof value === 'number' && Number.isFinite(value) ? value : undefined);
const text = (value: unknown): string | undefined => (typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined);

function joinUnique(...parts: Array<string | undefined>): string | undefined {
  const [first, second] = parts;
  // "Canon" + "Canon EOS 40D" reads as "Canon EOS 40D".
  if (first && second && second.toLowerCase().startsWith(first.toLowerCase())) return second;
  const present = parts.filter((part): part is string => part !== undefined);
  return present.length === 0 ? undefined : present.join(' ');
}

function shutter(seconds: number): string {
  if (seconds >= 1) return `${Math.round(seconds * 10) / 10} s`;
  return `1/${Math.round(1 / seconds)} s`;
}

/** "2008:05:30 15:56:01" as the camera wrote it, shown as 2008-05-30 15:56:01 (no time zone is implied). */
function cameraDate(value: unknown, offset: unknown): string | undefined {
  const raw = text(value);
  if (!raw) return undefined;
  const shown = raw.replace(/^(\d{4}):(\d{2}):(\d{2})/, '$1-$2-$3');
  const zone = text(offset);
  return zone ? `${shown} (UTC${zone})` : shown;
}

const ORIENTATIONS = ['', 'Normal', 'Mirrored', 'Rotated 180°', 'Mirrored vertically', 'Mirrored, rotated 90° left', 'Rotated 90° right', 'Mirrored, rotated 90° right', 'Rotated 90° left'];
const COLOR_SPACES: Record<number, string> = { 1: 'sRGB', 2: 'Adobe RGB', 65535: 'Uncalibrated' };
const DATES = new Set(['CreateDate', 'ModifyDate']);

const USED = new Set([
  'Make', 'Model', 'LensMake', 'LensModel', 'ExposureTime', 'FNumber', 'ISO', 'ExposureProgram', 'ExposureCompensation',
  'MeteringMode', 'Flash', 'FocalLength', 'FocalLengthIn35mmFormat', 'DateTimeOriginal', 'OffsetTimeOriginal', 'Software',
  'Orientation', 'ColorSpace',
]);

/** Label and value pairs, in the order a photographer looks for them; [] when there is no EXIF. */
export function exifRows(raw: string | null): Array<[string, string]> {
  if (raw === null) return [];
  let exif: Exif;
  try {
    const parsed: unknown = JSON.parse(raw);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return [];
    exif = parsed as Exif;
  } catch {
    return [];
  }
  const rows: Array<[string, string | undefined]> = [
    ['Camera', joinUnique(text(exif.Make), text(exif.Model))],
    ['Lens', joinUnique(text(exif.LensMake), text(exif.LensModel))],
    ['Date taken', cameraDate(exif.DateTimeOriginal, exif.OffsetTimeOriginal)],
    ['Exposure', num(exif.ExposureTime) === undefined ? undefined : shutter(num(exif.ExposureTime) ?? 0)],
    ['Aperture', num(exif.FNumber) === undefined ? undefined : `f/${num(exif.FNumber)}`],
    ['ISO', num(exif.ISO)?.toString()],
    [
      'Focal length',
      num(exif.FocalLength) === undefined
        ? undefined
        : `${num(exif.FocalLength)} mm` + (num(exif.FocalLengthIn35mmFormat) ? ` (${num(exif.FocalLengthIn35mmFormat)} mm in 35 mm terms)` : ''),
    ],
    ['Exposure program', EXPOSURE_PROGRAMS[num(exif.ExposureProgram) ?? -1]],
    ['Exposure compensation', num(exif.ExposureCompensation) === undefined ? undefined : `${num(exif.ExposureCompensation)} EV`],
    ['Metering', METERING_MODES[num(exif.MeteringMode) ?? -1]],
    // Bit 0 of the Flash tag: whether it fired.
    ['Flash', num(exif.Flash) === undefined ? undefined : (num(exif.Flash) ?? 0) & 1 ? 'Fired' : 'Did not fire'],
    ['Software', text(exif.Software)],
    ['Orientation', ORIENTATIONS[num(exif.Orientation) ?? 0] || undefined],
    ['Colour space', COLOR_SPACES[num(exif.ColorSpace) ?? -1]],
  ];
  for (const [key, value] of Object.entries(exif)) {
    if (USED.has(key) || value === null || typeof value === 'object') continue;
    rows.push([key.replace(/([a-z])([A-Z])/g, '$1 $2'), DATES.has(key) ? (cameraDate(value, undefined) ?? String(value)) : String(value)]);
  }
  return rows.filter((row): row is [string, string] => row[1] !== undefined);
}
