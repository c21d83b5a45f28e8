// Structured JSON lines. On Lambda stdout is enough (CloudWatch collects it);
// locally LOG_FILE adds a file copy so `tail -f .data/logs/app.log` works as
// the specification's logging section expects.
import { pino, destination, multistream, stdTimeFunctions } from 'pino';
import type { Logger } from 'pino';
import { cappedLogFile } from './log-file.ts';

export type { Logger };

/** Where LOG_FILE_MAX_BYTES is not given: the file and its one predecessor stay under about 40 MB. */
export const DEFAULT_LOG_FILE_MAX_BYTES = 20 * 1024 * 1024;

export function createLogger(options: { level: string; file: string | undefined; name?: string; fileMaxBytes?: number }): Logger {
  const base = {
    level: options.level,
    name: options.name ?? 'imageprocessingapi',
    timestamp: stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  if (!options.file) return pino(base, destination({ dest: 1, sync: true }));
  return pino(
    base,
    multistream([
      { level: options.level as pino.Level, stream: destination({ dest: 1, sync: true }) },
      { level: options.level as pino.Level, stream: cappedLogFile(options.file, options.fileMaxBytes ?? DEFAULT_LOG_FILE_MAX_BYTES) },
    ]),
  );
}
