// The test photos carried in the repository (test/fixtures/images, where
// README.md gives their source and licence), so a clone needs nothing beside it.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

export const SAMPLE_IMAGES_DIR = path.resolve(import.meta.dirname, '../fixtures/images');

export function readSample(relPath: string): Promise<Buffer> {
  return readFile(path.join(SAMPLE_IMAGES_DIR, relPath));
}

/** Relative paths ("orientation/landscape_1.jpg") of the images in one fixture folder, sorted. */
export async function listSamples(folder: string): Promise<string[]> {
  const entries = await readdir(path.join(SAMPLE_IMAGES_DIR, folder), { withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile() && !entry.name.startsWith('.'))
    .map((entry) => `${folder}/${entry.name}`)
    .sort();
}
