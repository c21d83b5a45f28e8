// The files an upload run is given: files as named, folders walked (hidden
// entries skipped), in a stable order, each once.
import type { Dirent } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';

export interface FoundFile {
  /** As the person would recognise it: relative to the folder they named, or as they typed it. */
  display: string;
  absolute: string;
  sizeBytes: number;
}

export interface FileWalk {
  files: FoundFile[];
  /** Arguments that are neither a file nor a folder. */
  missing: string[];
}

const hidden = (name: string): boolean => name.startsWith('.');

export async function collectFiles(args: readonly string[]): Promise<FileWalk> {
  const files: FoundFile[] = [];
  const missing: string[] = [];
  const seen = new Set<string>();
  const add = (display: string, absolute: string, sizeBytes: number): void => {
    if (seen.has(absolute)) return;
    seen.add(absolute);
    files.push({ display, absolute, sizeBytes });
  };
  for (const arg of args) {
    const absolute = path.resolve(arg);
    const info = await stat(absolute).catch(() => null);
    if (info === null) {
      missing.push(arg);
    } else if (info.isFile()) {
      add(arg, absolute, info.size);
    } else if (info.isDirectory()) {
      const entries: Dirent[] = await readdir(absolute, { recursive: true, withFileTypes: true });
      const inFolder: FoundFile[] = [];
      for (const entry of entries) {
        if (!entry.isFile()) continue;
        const full = path.join(entry.parentPath, entry.name);
        const relative = path.relative(absolute, full);
        if (relative.split(path.sep).some(hidden)) continue;
        const size = (await stat(full)).size;
        inFolder.push({ display: path.join(arg, relative), absolute: full, sizeBytes: size });
      }
      inFolder.sort((a, b) => a.display.localeCompare(b.display));
      for (const file of inFolder) add(file.display, file.absolute, file.sizeBytes);
    } else {
      missing.push(arg);
    }
  }
  return { files, missing };
}
