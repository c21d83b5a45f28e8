// Images that carry everything the API must never serve: serial numbers, an
// owner's and an artist's name, copyright, a comment, a description far over
// the string limit, and a position in both EXIF GPS and XMP.
import { crc32 } from 'node:zlib';
import sharp from 'sharp';

/** Every private value written, as it would appear in served JSON. */
export const PRIVATE_VALUES = [
  'BODY-SN-481516',
  'LENS-SN-2342',
  'XMP-SN-0815',
  'Jane Owner',
  'Jane Artist',
  'Jane Copyright',
  'a private comment',
  'private description',
  '51.5',
  '-0.1166',
] as const;

/** The description written into the EXIF of the PNG and the XMP of both (100 kB). */
const LONG_DESCRIPTION = `private description ${'x'.repeat(100_000)}`;
// A JPEG's EXIF is one APP1 segment of at most 64 kB: the longest description that fits.
const JPEG_DESCRIPTION = `private description ${'x'.repeat(60_000)}`;

const XMP = `<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:aux="http://ns.adobe.com/exif/1.0/aux/" xmlns:exif="http://ns.adobe.com/exif/1.0/"
  xmlns:dc="http://purl.org/dc/elements/1.1/" aux:SerialNumber="XMP-SN-0815" exif:GPSLatitude="51,30.0N" exif:GPSLongitude="0,7.0W">
<dc:creator><rdf:Seq><rdf:li>Jane Artist</rdf:li></rdf:Seq></dc:creator>
<dc:description><rdf:Alt><rdf:li xml:lang="x-default">DESCRIPTION</rdf:li></rdf:Alt></dc:description>
</rdf:Description></rdf:RDF></x:xmpmeta>`;

const EXIF = {
  IFD0: { Make: 'Acme', Model: 'Private Eye 1', Artist: 'Jane Artist', Copyright: 'Jane Copyright', Software: 'Acme Firmware 1.2' },
  IFD2: {
    DateTimeOriginal: '2021:02:03 04:05:06',
    CameraOwnerName: 'Jane Owner',
    BodySerialNumber: 'BODY-SN-481516',
    LensSerialNumber: 'LENS-SN-2342',
    LensModel: 'Acme 50mm',
    UserComment: 'a private comment',
  },
  IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '51/1 30/1 0/1', GPSLongitudeRef: 'W', GPSLongitude: '0/1 7/1 0/1' },
};

const canvas = () => sharp({ create: { width: 64, height: 48, channels: 3, background: '#4a7' } });

/** A JPEG with all of the above in EXIF (description of 60 kB) and XMP (100 kB). */
export function jpegWithPrivateExif(): Promise<Buffer> {
  return canvas()
    .withExif({ ...EXIF, IFD0: { ...EXIF.IFD0, ImageDescription: JPEG_DESCRIPTION } })
    .withXmp(XMP.replace('DESCRIPTION', LONG_DESCRIPTION))
    .jpeg()
    .toBuffer();
}

/**
 * A PNG whose eXIf chunk carries the 100 kB description (libexif, behind
 * sharp's withExif, cannot write a value that long, so the chunk is built
 * here), with the rest in XMP.
 */
export async function pngWithPrivateExif(): Promise<Buffer> {
  const png = await canvas().withXmp(XMP.replace('DESCRIPTION', LONG_DESCRIPTION)).png().toBuffer();
  const tiff = asciiTiff([
    [0x010f, 'Acme'],
    [0x0110, 'Private Eye 1'],
    [0x010e, LONG_DESCRIPTION],
    [0x013b, 'Jane Artist'],
    [0x8298, 'Jane Copyright'],
    [0xc62f, 'BODY-SN-481516'],
  ]);
  return insertPngChunk(png, 'eXIf', tiff);
}

/** Little-endian TIFF with one IFD0 of ASCII tags, values after the IFD. */
function asciiTiff(entries: Array<[tag: number, value: string]>): Buffer {
  const ifdSize = 2 + entries.length * 12 + 4;
  const ifd = Buffer.alloc(ifdSize);
  const values: Buffer[] = [];
  let offset = 8 + ifdSize;
  ifd.writeUInt16LE(entries.length, 0);
  entries.forEach(([tag, value], i) => {
    const bytes = Buffer.from(`${value}\0`, 'latin1');
    const at = 2 + i * 12;
    ifd.writeUInt16LE(tag, at);
    ifd.writeUInt16LE(2, at + 2);
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

/** The chunk goes right after IHDR (8-byte signature + 25-byte IHDR), before any IDAT. */
function insertPngChunk(png: Buffer, type: string, data: Buffer): Buffer {
  const at = 8 + 25;
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])));
  return Buffer.concat([png.subarray(0, at), head, data, crc, png.subarray(at)]);
}
