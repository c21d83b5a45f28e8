// The local log file (LOG_FILE), capped. Several Lambda worker threads append
// to it, each through a descriptor of its own, for as long as `npm start`
// runs. Every so many bytes a writer looks at the file: past maxBytes it moves
// it to <file>.1 (replacing the one before) and starts the file again; a
// writer whose descriptor still points at a file moved by another reopens the
// path. So the logs take at most about twice maxBytes on disk. Written here
// because pino-roll and logrotate-style tools assume one writer per file.
import { fstatSync, renameSync, statSync } from 'node:fs';
import { destination } from 'pino';

export interface LogFileStream {
  write(line: string): boolean;
}

export function cappedLogFile(file: string, maxBytes: number): LogFileStream {
  // Synchronous appends: O_APPEND writes of whole lines keep the threads' lines from interleaving.
  const stream = destination({ dest: file, sync: true, append: true, mkdir: true });
  const checkEvery = Math.max(16 * 1024, Math.floor(maxBytes / 32));
  let sinceCheck = 0;

  // SonicBoom keeps its descriptor in `fd` (not in its type declarations).
  const descriptor = (): number => (stream as unknown as { fd: number }).fd;

  const rotateIfNeeded = (): void => {
    try {
      const onPath = statSync(file);
      if (onPath.ino !== fstatSync(descriptor()).ino) {
        stream.reopen();
      } else if (onPath.size > maxBytes) {
        renameSync(file, `${file}.1`);
        stream.reopen();
      }
    } catch {
      // Moved or removed by someone else in between: write to the path from now on.
      stream.reopen();
    }
  };

  return {
    write(line) {
      const written = stream.write(line);
      sinceCheck += line.length;
      if (sinceCheck >= checkEvery) {
        sinceCheck = 0;
        rotateIfNeeded();
      }
      return written;
    },
  };
}
