// A JPEG whose header and EXIF read but whose pixels never decode, made from a
// fixture photo, so no multi-megabyte broken file has to live in the repository.
// Hand-written: sharp and exifr read JPEGs but do not edit their segments, and
// walking the segments up to the scan takes a dozen lines.
//
// Overwriting or scrambling part of the entropy-coded data is not enough:
// libjpeg resynchronises and the photo decodes with a few garbled blocks (see
// FAIL_ON in lib/images/thumbnails.ts). What makes a camera file undecodable is
// damage that throws its restart markers out of sequence, so the decoder warns
// at every restart interval until libvips gives up, whatever sharp's failOn.
// This declares a restart interval of one MCU (a DRI segment before the scan)
// that the photo's entropy-coded data does not follow: at every MCU the decoder
// looks for the next restart marker and does not find it ("Corrupt JPEG data:
// found marker 0xd9 instead of RST1").

const SOI = 0xd8;
const SOS = 0xda;
const DRI = 0xdd;

/** The photo with a restart interval its scan does not follow. */
export function jpegWithCorruptScan(photo: Buffer): Buffer {
  if (photo[0] !== 0xff || photo[1] !== SOI) throw new Error('not a JPEG: no SOI marker');
  let at = 2;
  while (at + 4 <= photo.length) {
    if (photo[at] !== 0xff) throw new Error(`not a JPEG segment at byte ${at}`);
    const marker = photo[at + 1];
    if (marker === DRI) throw new Error('the photo already has a restart interval');
    if (marker === SOS) {
      // Segment length 4 (itself and the interval), interval 1 MCU.
      const restartInterval = Buffer.from([0xff, DRI, 0x00, 0x04, 0x00, 0x01]);
      return Buffer.concat([photo.subarray(0, at), restartInterval, photo.subarray(at)]);
    }
    at += 2 + photo.readUInt16BE(at + 2);
  }
  throw new Error('not a JPEG: no start of scan');
}
