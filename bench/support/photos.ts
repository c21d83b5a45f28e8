// The real photos of test/fixtures/images that the pipeline turns into
// `success` rows.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { listSamples, SAMPLE_IMAGES_DIR } from '../../test/support/sample-images.ts';
import { readExif } from '../../lib/images/exif.ts';
import { renderImage } from '../../lib/images/thumbnails.ts';
import { progress } from './report.ts';

export interface Photo {
  name: string;
  path: string;
  bytes: Buffer;
}

// invalid/ (broken on purpose) and heic/ (refused at upload) are not photos the pipeline processes.
const FOLDERS = ['cameras', 'gps', 'orientation', 'xmp', 'mobile'];

export const MAX_INPUT_PIXELS = 100_000_000;

/** The processing function the benches measure: what the processor does per image, captions off. */
export async function processOnce(bytes: Buffer): Promise<void> {
  await Promise.all([renderImage(bytes, { maxInputPixels: MAX_INPUT_PIXELS }), readExif(bytes, { includeGps: false })]);
}

/** Every test photo that processes. */
export async function realPhotos(): Promise<Photo[]> {
  const photos: Photo[] = [];
  for (const folder of FOLDERS) {
    for (const name of await listSamples(folder)) {
      const path = join(SAMPLE_IMAGES_DIR, name);
      const bytes = await readFile(path);
      try {
        await processOnce(bytes);
        photos.push({ name, path, bytes });
      } catch (error) {
        progress(`skipping ${name}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }
  return photos;
}
