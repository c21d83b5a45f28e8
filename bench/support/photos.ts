// The real photos of ../shared/images that the pipeline turns into `success`
// rows, read in place (never copied into the repository).
import { existsSync } from 'node:fs';
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

/** Every sample photo that processes; an empty list (with a hint) when the folder is not there. */
export async function realPhotos(): Promise<Photo[]> {
  if (!existsSync(SAMPLE_IMAGES_DIR)) {
    progress(`no sample photos at ${SAMPLE_IMAGES_DIR}: real-photo rows are skipped`);
    return [];
  }
  const photos: Photo[] = [];
  for (const folder of FOLDERS) {
    if (!existsSync(join(SAMPLE_IMAGES_DIR, folder))) continue;
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
