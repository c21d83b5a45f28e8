import assert from 'node:assert/strict';
import { test } from 'node:test';
import sharp from 'sharp';
import { MAX_EXIF_STRING_LENGTH, readExif } from '../../lib/images/exif.ts';
import { jpegWithCorruptScan } from '../support/corrupt-jpeg.ts';
import { jpegWithPrivateExif, pngWithPrivateExif, PRIVATE_VALUES } from '../support/private-exif-images.ts';
import { listSamples, readSample } from '../support/sample-images.ts';

const CAMERA_DATE = /^\d{4}:\d{2}:\d{2} \d{2}:\d{2}:\d{2}$/;

const withGps = (original: Buffer) => readExif(original, { includeGps: true });
const withoutGps = (original: Buffer) => readExif(original, { includeGps: false });

function gpsKeys(tags: Record<string, unknown>): string[] {
  return Object.keys(tags).filter((k) => k.startsWith('GPS') || k === 'latitude' || k === 'longitude');
}

/** Only JSON scalars and flat arrays of them; no binary, Dates, NaN, undefined or NUL padding. */
function assertPlainJson(tags: Record<string, unknown>, label: string): void {
  assert.deepEqual(JSON.parse(JSON.stringify(tags)), tags, `${label}: JSON round trip`);
  for (const [key, value] of Object.entries(tags)) {
    const items = Array.isArray(value) ? value : [value];
    for (const item of items) {
      if (typeof item === 'number') assert.ok(Number.isFinite(item), `${label} ${key}`);
      else if (typeof item === 'string') {
        assert.ok(!item.includes('\0'), `${label} ${key}: NUL in ${JSON.stringify(item)}`);
        assert.equal(item, item.trim(), `${label} ${key}: padding in ${JSON.stringify(item)}`);
        assert.notEqual(item, '', `${label} ${key}: empty string`);
      } else assert.fail(`${label} ${key}: ${Object.prototype.toString.call(item)} is not a JSON scalar`);
    }
  }
}

/** Minimal JPEG: SOI, one APP1 "Exif" segment with the given TIFF bytes, EOI. */
function jpegWithExif(tiff: Buffer): Buffer {
  const payload = Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), tiff]);
  const length = Buffer.alloc(2);
  length.writeUInt16BE(payload.length + 2);
  return Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe1]), length, payload, Buffer.from([0xff, 0xd9])]);
}

type IfdEntry = [tag: number, value: string | Buffer];

/**
 * Little-endian TIFF with one IFD0, values stored after the IFD: strings as
 * ASCII (type 2, NUL added), buffers as BYTE (type 1).
 */
function tiffWithTags(entries: IfdEntry[]): Buffer {
  const ifdSize = 2 + entries.length * 12 + 4;
  const ifd = Buffer.alloc(ifdSize);
  const values: Buffer[] = [];
  let offset = 8 + ifdSize;
  ifd.writeUInt16LE(entries.length, 0);
  entries.forEach(([tag, value], i) => {
    const ascii = typeof value === 'string';
    const bytes = ascii ? Buffer.from(`${value}\0`, 'latin1') : value;
    const at = 2 + i * 12;
    ifd.writeUInt16LE(tag, at);
    ifd.writeUInt16LE(ascii ? 2 : 1, at + 2);
    ifd.writeUInt32LE(bytes.length, at + 4);
    if (bytes.length <= 4) bytes.copy(ifd, at + 8);
    else {
      ifd.writeUInt32LE(offset, at + 8);
      values.push(bytes);
      offset += bytes.length;
    }
  });
  return Buffer.concat([Buffer.from([0x49, 0x49, 0x2a, 0x00, 0x08, 0x00, 0x00, 0x00]), ifd, ...values]);
}

const plainImage = () => sharp({ create: { width: 8, height: 8, channels: 3, background: '#abc' } });

// --- cameras/ ---

// Three files in cameras/ carry EXIF without Make/Model (re-saved by GIMP or
// with the data only in the MakerNote): Canon_40D_photoshop_import,
// PaintTool_sample, long_description.
const CAMERAS: Record<string, [make: string, model: string]> = {
  'Canon_40D.jpg': ['Canon', 'Canon EOS 40D'],
  'Canon_DIGITAL_IXUS_400.jpg': ['Canon', 'Canon DIGITAL IXUS 400'],
  'Canon_PowerShot_S40.jpg': ['Canon', 'Canon PowerShot S40'],
  'Fujifilm_FinePix6900ZOOM.jpg': ['FUJIFILM', 'FinePix6900ZOOM'],
  'Fujifilm_FinePix_E500.jpg': ['FUJIFILM', 'FinePix E500'],
  'Kodak_CX7530.jpg': ['EASTMAN KODAK COMPANY', 'KODAK CX7530 ZOOM DIGITAL CAMERA'],
  'Konica_Minolta_DiMAGE_Z3.jpg': ['KONICA MINOLTA', 'DiMAGE Z3'],
  'Nikon_COOLPIX_P1.jpg': ['NIKON', 'COOLPIX P1'],
  'Nikon_D70.jpg': ['NIKON CORPORATION', 'NIKON D70'],
  'Olympus_C8080WZ.jpg': ['OLYMPUS CORPORATION', 'C8080WZ'],
  'Panasonic_DMC-FZ30.jpg': ['Panasonic', 'DMC-FZ30'],
  'Pentax_K10D.jpg': ['PENTAX Corporation', 'PENTAX K10D'],
  'Ricoh_Caplio_RR330.jpg': ['Caplio', 'RR330'],
  'Samsung_Digimax_i50_MP3.jpg': ['Samsung Techwin', '<Digimax i50 MP3, Samsung #1 MP3>'],
  'Sony_HDR-HC3.jpg': ['SONY', 'HDR-HC3'],
  'WWL_Polaroid_ION230.jpg': ['WWL', 'ION230'],
};

for (const [file, [make, model]] of Object.entries(CAMERAS)) {
  test(`readExif: cameras/${file} → Make "${make}", Model "${model}", camera-format DateTimeOriginal`, async () => {
    const tags = await withoutGps(await readSample(`cameras/${file}`));
    assert.ok(tags);
    assert.equal(tags.Make, make);
    assert.equal(tags.Model, model);
    assert.match(String(tags.DateTimeOriginal), CAMERA_DATE);
  });
}

test('readExif: every file in cameras/ → an object, plain JSON, dates as camera strings', async () => {
  const files = await listSamples('cameras');
  assert.equal(files.length, 19);
  for (const rel of files) {
    const tags = await withoutGps(await readSample(rel));
    assert.ok(tags, rel);
    assertPlainJson(tags, rel);
    for (const key of ['DateTimeOriginal', 'CreateDate', 'ModifyDate']) {
      if (key in tags) assert.match(String(tags[key]), CAMERA_DATE, `${rel} ${key}`);
    }
  }
});

test(`readExif: cameras/Canon_40D.jpg → DateTimeOriginal exactly "2008:05:30 15:56:01" (process TZ=${process.env.TZ ?? 'unset'})`, async () => {
  // A revived Date would be built in the process time zone; the camera string cannot shift.
  const tags = await withoutGps(await readSample('cameras/Canon_40D.jpg'));
  assert.equal(tags?.DateTimeOriginal, '2008:05:30 15:56:01');
  assert.equal(typeof tags?.DateTimeOriginal, 'string');
});

test('readExif: cameras/Canon_40D.jpg → exposure facts served; version, binary, maker-note and comment tags not served', async () => {
  const tags = await withoutGps(await readSample('cameras/Canon_40D.jpg'));
  assert.ok(tags);
  assert.equal(typeof tags.ExposureTime, 'number');
  assert.equal(typeof tags.FNumber, 'number');
  assert.equal(typeof tags.ISO, 'number');
  assert.equal(typeof tags.FocalLength, 'number');
  for (const key of ['ExifVersion', 'FlashpixVersion', 'ComponentsConfiguration', 'MakerNote', 'UserComment', 'InteropIndex']) {
    assert.equal(key in tags, false, key);
  }
});

// --- orientation/ ---

for (const n of [1, 3, 6, 8]) {
  test(`readExif: orientation/landscape_${n}.jpg → Orientation is the number ${n}`, async () => {
    const tags = await withoutGps(await readSample(`orientation/landscape_${n}.jpg`));
    assert.equal(tags?.Orientation, n);
  });
}

// --- gps/ ---

const gpsFiles = await listSamples('gps');

for (const rel of gpsFiles) {
  test(`readExif: ${rel} with includeGps → decimal latitude/longitude numbers`, async () => {
    const tags = await withGps(await readSample(rel));
    assert.ok(tags);
    assert.equal(typeof tags.latitude, 'number');
    assert.equal(typeof tags.longitude, 'number');
    assert.ok(Math.abs(Number(tags.latitude)) <= 90, `latitude ${String(tags.latitude)}`);
    assert.ok(Math.abs(Number(tags.longitude)) <= 180, `longitude ${String(tags.longitude)}`);
    assert.ok(Array.isArray(tags.GPSLatitude));
    assertPlainJson(tags, rel);
  });

  test(`readExif: ${rel} without includeGps → no GPS* keys, no latitude/longitude`, async () => {
    const tags = await withoutGps(await readSample(rel));
    assert.ok(tags, 'the rest of the EXIF is still there');
    assert.ok(tags.Make);
    assert.deepEqual(gpsKeys(tags), []);
  });
}

test('readExif: gps/DSCN0010.jpg → latitude 43.4674 N, longitude 11.8851 E', async () => {
  const tags = await withGps(await readSample('gps/DSCN0010.jpg'));
  assert.ok(tags);
  assert.ok(Math.abs(Number(tags.latitude) - 43.467448) < 1e-5, String(tags.latitude));
  assert.ok(Math.abs(Number(tags.longitude) - 11.885127) < 1e-5, String(tags.longitude));
  assert.equal(tags.GPSLatitudeRef, 'N');
  assert.equal(tags.GPSAltitudeRef, 0, 'single byte decoded as a number');
});

// --- xmp/ and images without EXIF ---

test('readExif: xmp/BlueSquare.jpg → IFD0 tags, XMP not parsed', async () => {
  const tags = await withoutGps(await readSample('xmp/BlueSquare.jpg'));
  assert.ok(tags);
  assert.equal(tags.Software, 'Adobe Photoshop CS2 Macintosh');
  assert.equal(Object.keys(tags).some((k) => k.includes(':') || k === 'xmp'), false);
});

test('readExif: xmp/no_exif.jpg (does carry a Photoshop EXIF segment despite its name) → Software served, XP* free text not served', async () => {
  const tags = await withoutGps(await readSample('xmp/no_exif.jpg'));
  assert.ok(tags);
  assert.equal(tags.Software, 'Adobe Photoshop CC (Macintosh)');
  assert.deepEqual(Object.keys(tags).filter((k) => k.startsWith('XP') || /^\d+$/.test(k)), []);
  assertPlainJson(tags, 'no_exif.jpg');
});

test('readExif: JPEG without any EXIF → null', async () => {
  assert.equal(await withGps(await plainImage().jpeg().toBuffer()), null);
});

test('readExif: PNG without EXIF → null', async () => {
  assert.equal(await withGps(await plainImage().png().toBuffer()), null);
});

test('readExif: PNG with an eXIf chunk → its tags (or null), never throws', async () => {
  const png = await plainImage()
    .withExif({ IFD0: { Make: 'Acme', Model: 'Pixel Pusher' }, IFD2: { DateTimeOriginal: '2020:01:02 03:04:05' } })
    .png()
    .toBuffer();
  const tags = await withoutGps(png);
  assert.ok(tags, 'exifr 7.1.3 reads eXIf');
  assert.equal(tags.Make, 'Acme');
  assert.equal(tags.DateTimeOriginal, '2020:01:02 03:04:05');
});

test('readExif: NUL padding with leftovers and space padding → stripped from strings', async () => {
  // sharp/libexif and exifr already trim plain trailing padding; these survive them.
  const jpeg = jpegWithExif(
    tiffWithTags([
      [0x010f, 'Acme\0\0\0\0leftover'], // Make
      [0x0110, '  Model X  \0'], // Model
      [0x0131, '\0\0\0\0\0\0\0\0'], // Software: padding only
    ]),
  );
  const tags = await withoutGps(jpeg);
  assert.ok(tags);
  assert.equal(tags.Make, 'Acme');
  assert.equal(tags.Model, 'Model X');
  assert.equal('Software' in tags, false, 'a padding-only string is dropped, not kept as ""');
});

test('readExif: XPTitle and XPComment (UTF-16 free text, a lone surrogate included) → not served', async () => {
  const xpTitle = Buffer.from([0x48, 0x00, 0x69, 0x00, 0x00, 0xd8, 0x00, 0x00]);
  const tags = await withoutGps(jpegWithExif(tiffWithTags([[0x010f, 'Acme'], [0x9c9b, xpTitle], [0x9c9c, xpTitle]])));
  assert.deepEqual(tags, { Make: 'Acme' });
});

// --- privacy: the allowlist ---

const SERVED_KEYS = new Set([
  'Make', 'Model', 'LensMake', 'LensModel', 'ExposureTime', 'FNumber', 'ISO', 'ExposureProgram', 'ExposureCompensation',
  'MeteringMode', 'Flash', 'FocalLength', 'FocalLengthIn35mmFormat', 'DateTimeOriginal', 'CreateDate', 'ModifyDate',
  'OffsetTime', 'OffsetTimeOriginal', 'OffsetTimeDigitized', 'Orientation', 'ImageWidth', 'ImageHeight', 'ExifImageWidth',
  'ExifImageHeight', 'Software', 'ColorSpace',
]);

function assertNothingPrivate(tags: Record<string, unknown> | null, label: string): void {
  const json = JSON.stringify(tags);
  for (const value of PRIVATE_VALUES) assert.ok(!json.includes(value), `${label}: ${value} served in ${json}`);
  assert.ok(json.length < 2_000, `${label}: ${json.length} characters served`);
}

for (const includeGps of [false, true]) {
  test(`readExif: JPEG with serial numbers, owner, artist, 60 kB description, GPS in EXIF and XMP (includeGps ${includeGps}) → only camera facts`, async () => {
    const tags = await readExif(await jpegWithPrivateExif(), { includeGps });
    assert.ok(tags);
    assert.equal(tags.Make, 'Acme');
    assert.equal(tags.LensModel, 'Acme 50mm');
    assert.equal(tags.DateTimeOriginal, '2021:02:03 04:05:06');
    assert.equal(tags.Software, 'Acme Firmware 1.2');
    for (const key of ['SerialNumber', 'BodySerialNumber', 'LensSerialNumber', 'OwnerName', 'CameraOwnerName', 'Artist', 'Copyright', 'ImageDescription', 'UserComment']) {
      assert.equal(key in tags, false, key);
    }
    if (includeGps) {
      // Opted in: the position of the EXIF GPS block, never XMP's.
      assert.equal(tags.latitude, 51.5);
      assert.deepEqual(tags.GPSLatitude, [51, 30, 0]);
    } else {
      assertNothingPrivate(tags, 'jpeg');
      assert.deepEqual(gpsKeys(tags), []);
    }
  });
}

test('readExif: PNG with a 100 kB ImageDescription, artist, serial number in eXIf and GPS in XMP → Make and Model only', async () => {
  const tags = await withGps(await pngWithPrivateExif());
  assert.deepEqual(tags, { Make: 'Acme', Model: 'Private Eye 1' });
});

test('readExif: every sample file → only allowlisted keys; GPS keys only with includeGps', async () => {
  for (const folder of ['cameras', 'gps', 'orientation', 'xmp', 'mobile']) {
    for (const rel of await listSamples(folder)) {
      const tags = await withoutGps(await readSample(rel));
      const unexpected = Object.keys(tags ?? {}).filter((key) => !SERVED_KEYS.has(key));
      assert.deepEqual(unexpected, [], rel);
    }
  }
});

test(`readExif: a 60,000-character Make and a 300-character Model → each cut to ${MAX_EXIF_STRING_LENGTH} characters`, async () => {
  const png = await plainImage().withExif({ IFD0: { Model: 'm'.repeat(300) } }).png().toBuffer();
  assert.equal((await withoutGps(png))?.Model, 'm'.repeat(MAX_EXIF_STRING_LENGTH));
  const tags = await withoutGps(jpegWithExif(tiffWithTags([[0x010f, 'A'.repeat(60_000)]])));
  assert.equal(tags?.Make, 'A'.repeat(MAX_EXIF_STRING_LENGTH));
});

const DATES: Array<[raw: string, served: boolean]> = [
  ['2008:05:30 15:56:01', true],
  ['2024:02:29 23:59:59', true],
  ['2023:02:29 12:00:00', false],
  ['2021:04:31 12:00:00', false],
  ['2021:13:01 12:00:00', false],
  ['2021:00:10 12:00:00', false],
  ['2021:01:10 24:00:00', false],
  ['2021:01:10 12:60:00', false],
  ['0000:00:00 00:00:00', false],
  ['    :  :     :  :  ', false],
  ['yesterday at noon', false],
  ['2021:01:10 12:00:00 and then some', false],
];

for (const [raw, served] of DATES) {
  test(`readExif: DateTimeOriginal ${JSON.stringify(raw)} → ${served ? 'served as written' : 'dropped'}`, async () => {
    const png = await plainImage().withExif({ IFD0: { Make: 'Acme' }, IFD2: { DateTimeOriginal: raw } }).png().toBuffer();
    const tags = await withoutGps(png);
    assert.equal(tags?.DateTimeOriginal, served ? raw : undefined);
    assert.equal(tags?.Make, 'Acme');
  });
}

// --- broken and hostile input ---

for (const rel of await listSamples('invalid')) {
  test(`readExif: ${rel} → resolves (object or null) without throwing`, async () => {
    const tags = await withGps(await readSample(rel));
    assert.ok(tags === null || typeof tags === 'object');
    if (tags) assertPlainJson(tags, rel);
  });
}

test('readExif: mobile/jolla.jpg with a corrupt scan (pixels undecodable) → its EXIF, as from the intact photo', async () => {
  const photo = await readSample('mobile/jolla.jpg');
  const tags = await withGps(jpegWithCorruptScan(photo));
  assert.ok(tags);
  assertPlainJson(tags, 'corrupt scan');
  assert.deepEqual(tags, await withGps(photo));
});

const hostile: Record<string, Buffer> = {
  'empty buffer': Buffer.alloc(0),
  'random bytes': Buffer.from('not an image at all, just some text bytes'),
  'JPEG with garbage TIFF header': jpegWithExif(Buffer.from('XX*\0garbagegarbage', 'latin1')),
  'JPEG with IFD0 offset past the end': jpegWithExif(Buffer.from([0x49, 0x49, 0x2a, 0x00, 0xf0, 0xff, 0xff, 0x7f])),
  // IFD0 claims 0xFFFF entries but holds none.
  'JPEG with an IFD claiming 65535 entries': jpegWithExif(
    Buffer.from([0x49, 0x49, 0x2a, 0x00, 0x08, 0x00, 0x00, 0x00, 0xff, 0xff]),
  ),
  // One entry: Make, ASCII, count 0x7FFFFFFF at offset 0x10.
  'JPEG with a string tag longer than the file': jpegWithExif(
    Buffer.from([
      0x49, 0x49, 0x2a, 0x00, 0x08, 0x00, 0x00, 0x00, 0x01, 0x00, 0x0f, 0x01, 0x02, 0x00, 0xff, 0xff, 0xff, 0x7f,
      0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    ]),
  ),
  'truncated APP1 segment': jpegWithExif(Buffer.from('MM\0*\0\0\0\x08\0\x05', 'latin1')).subarray(0, 16),
};

for (const [name, bytes] of Object.entries(hostile)) {
  test(`readExif: ${name} → resolves without throwing`, async () => {
    const tags = await withGps(bytes);
    assert.ok(tags === null || typeof tags === 'object');
    if (tags) assertPlainJson(tags, name);
  });
}

test('readExif: HEIC → resolves without throwing (upload refuses HEIC before this)', async () => {
  for (const rel of await listSamples('heic')) {
    const tags = await withGps(await readSample(rel));
    assert.ok(tags === null || typeof tags === 'object', rel);
  }
});

// --- every sample ---

test('readExif: every sample file → result survives JSON.parse(JSON.stringify()) unchanged', async () => {
  const folders = ['cameras', 'gps', 'orientation', 'xmp', 'mobile', 'invalid'];
  let objects = 0;
  for (const folder of folders) {
    for (const rel of await listSamples(folder)) {
      for (const includeGps of [true, false]) {
        const tags = await readExif(await readSample(rel), { includeGps });
        if (tags === null) continue;
        objects++;
        assertPlainJson(tags, rel);
        if (!includeGps) assert.deepEqual(gpsKeys(tags), [], rel);
      }
    }
  }
  assert.ok(objects > 40, `only ${objects} files had EXIF`);
});
