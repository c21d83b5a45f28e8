// The shared sample photos live outside the repo and must never be copied in.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

export const SAMPLE_IMAGES_DIR = path.resolve(import.meta.dirname, '../../../shared/images');

export function readSample(relPath: string): Promise<Buffer> {
  return readFile(path.join(SAMPLE_IMAGES_DIR, relPath));
}

/** Relative paths ("orientation/landscape_1.jpg") of the files in one sample folder, sorted. */
export async function listSamples(folder: string): Promise<string[]> {
  const entries = await readdir(path.join(SAMPLE_IMAGES_DIR, folder), { withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile() && !entry.name.startsWith('.'))
    .map((entry) => `${folder}/${entry.name}`)
    .sort();
}
