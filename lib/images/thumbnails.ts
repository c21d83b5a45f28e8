import sharp from 'sharp';
import type { JpegOptions, Metadata, OutputInfo, SharpOptions } from 'sharp';
import { PermanentProcessingError } from '../errors.ts';
import { sniffImageFormat } from './sniff.ts';
import { THUMBNAIL_SIZES } from './thumbnail-sizes.ts';
import type { ThumbnailSize } from './thumbnail-sizes.ts';
import type { ImageFormat } from './sniff.ts';


export interface ImageMetadata {
  /**
   * Width and height as the image is displayed, i.e. after its EXIF
   * orientation is applied: a portrait phone photo stored as landscape pixels
   * with Orientation 6 reports portrait dimensions, matching its thumbnails
   * and what a browser shows.
   */
  width: number;
  height: number;
  format: ImageFormat;
  /** Byte length of the original upload. */
  size_bytes: number;
}

export interface Thumbnail {
  data: Buffer;
  width: number;
  height: number;
}

export interface RenderedImage {
  metadata: ImageMetadata;
  thumbnails: Record<ThumbnailSize, Thumbnail>;
}

// 'error' rather than sharp's default 'warning': libjpeg warns about harmless
// quirks some cameras write (extraneous bytes before a marker) and 'warning'
// rejects those photos. 'error' still rejects truncated JPEGs and PNGs and PNG
// CRC errors, which 'none' would turn into a grey or partial image. The price:
// corrupt JPEG entropy data that libjpeg can resynchronise past still decodes,
// with a few garbled blocks.
const FAIL_ON = 'error' satisfies SharpOptions['failOn'];

const UNSUPPORTED = 'Unsupported image format: only JPEG and PNG are accepted';

const WHITE = { r: 255, g: 255, b: 255 };

// mozjpeg off: measured here it makes the 512 px encode 5-10x slower (about
// 3 ms → 16-30 ms) for about 20% fewer bytes. Nothing asks sharp to keep metadata, so EXIF (GPS),
// XMP and ICC are not copied and the pixels are converted to sRGB.
const JPEG_OPTIONS: JpegOptions = { quality: 80, mozjpeg: false, chromaSubsampling: '4:2:0' };

/**
 * Decodes the original once, applies its EXIF orientation and renders every
 * thumbnail size as an 8-bit sRGB JPEG with alpha flattened onto white.
 *
 * @throws PermanentProcessingError when the bytes can never become an image
 *   (unsupported format, corrupt or truncated data, over `maxInputPixels`).
 *   Any other error is unexpected and rethrown as-is so the message is retried.
 */
export async function renderImage(
  original: Buffer,
  options: { maxInputPixels: number },
): Promise<RenderedImage> {
  const format = sniffImageFormat(original);
  if (format === null) {
    throw new PermanentProcessingError(UNSUPPORTED);
  }

  const header = await readHeader(original);
  if (header.width * header.height > options.maxInputPixels) {
    throw new PermanentProcessingError(
      `Image is too large: ${header.width}x${header.height} pixels exceeds the limit of ${options.maxInputPixels}`,
    );
  }

  const input: SharpOptions = {
    failOn: FAIL_ON,
    // Checked above already; kept so the decoder itself refuses if the header
    // ever disagrees with what libvips ends up decoding.
    limitInputPixels: options.maxInputPixels,
  };
  const largest = THUMBNAIL_SIZES.medium;

  let pixels: { data: Buffer; info: OutputInfo };
  try {
    // The one full decode. Resizing in the same pipeline lets libjpeg use
    // shrink-on-load (decode at 1/2, 1/4 or 1/8 scale), the largest saving
    // on camera-sized JPEGs. Raw output keeps the 512 px result in memory
    // so the smaller size does not decode the original again.
    pixels = await sharp(original, input)
      .rotate()
      .resize({ width: largest, height: largest, fit: 'inside', withoutEnlargement: true })
      .flatten({ background: WHITE })
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw classifyDecodeError(err, options.maxInputPixels);
  }

  const raw = {
    width: pixels.info.width,
    height: pixels.info.height,
    channels: pixels.info.channels,
  };
  const smallEdge = THUMBNAIL_SIZES.small;
  // Both encodes run on the libuv pool at once. Downscaling the 512 px pixels
  // to 128 px looks no different from downscaling the original.
  const [medium, small] = await Promise.all([
    sharp(pixels.data, { raw }).jpeg(JPEG_OPTIONS).toBuffer({ resolveWithObject: true }),
    sharp(pixels.data, { raw })
      .resize({ width: smallEdge, height: smallEdge, fit: 'inside', withoutEnlargement: true })
      .jpeg(JPEG_OPTIONS)
      .toBuffer({ resolveWithObject: true }),
  ]);

  return {
    metadata: {
      width: header.autoOrient.width,
      height: header.autoOrient.height,
      format,
      size_bytes: original.byteLength,
    },
    thumbnails: {
      small: { data: small.data, width: small.info.width, height: small.info.height },
      medium: { data: medium.data, width: medium.info.width, height: medium.info.height },
    },
  };
}

async function readHeader(original: Buffer): Promise<Metadata> {
  let header: Metadata;
  try {
    // Header only, no pixels are decoded, so no pixel limit here: the limit is
    // checked against these dimensions to give a message that names them.
    header = await sharp(original, { failOn: FAIL_ON, limitInputPixels: false }).metadata();
  } catch (err) {
    throw classifyDecodeError(err, undefined);
  }
  // Magic bytes said JPEG or PNG; a decoder that disagrees means a disguised file.
  if (header.format !== 'jpeg' && header.format !== 'png') {
    throw new PermanentProcessingError(UNSUPPORTED);
  }
  return header;
}

/**
 * Maps libvips' decode errors to a short reason a user can read. Anything
 * else, out-of-memory included, is returned unchanged: it may be transient
 * and deserves a retry.
 */
function classifyDecodeError(err: unknown, limitInputPixels: number | undefined): unknown {
  if (!(err instanceof Error)) return err;
  const message = err.message;
  if (/out of memory/i.test(message)) return err;
  if (/exceeds pixel limit/i.test(message)) {
    const limit = limitInputPixels === undefined ? '' : ` of ${limitInputPixels} pixels`;
    return new PermanentProcessingError(`Image is too large: it exceeds the limit${limit}`, { cause: err });
  }
  if (/unsupported image format|exceeds channel limit/i.test(message)) {
    return new PermanentProcessingError(UNSUPPORTED, { cause: err });
  }
  // Loader errors are prefixed with the loader's name (VipsJpeg:, vipspng:,
  // VipsForeignLoad...:); truncation and bad Huffman tables all land here.
  if (/corrupt|premature end|truncated|read error|^vips\w*:/i.test(message)) {
    return new PermanentProcessingError('Image is corrupt or truncated', { cause: err });
  }
  return err;
}
