// Structured JSON lines. On Lambda stdout is enough (CloudWatch collects it);
// locally LOG_FILE adds a file copy so `tail -f .data/logs/app.log` works as
// the specification's logging section expects.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { pino, destination, multistream, stdTimeFunctions } from 'pino';
import type { Logger } from 'pino';

export type { Logger };

export function createLogger(options: { level: string; file: string | undefined; name?: string }): Logger {
  const base = {
    level: options.level,
    name: options.name ?? 'imageprocessingapi',
    timestamp: stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  if (!options.file) return pino(base, destination({ dest: 1, sync: true }));
  mkdirSync(dirname(options.file), { recursive: true });
  // Synchronous appends: several Lambda worker threads share the file, and
  // O_APPEND writes of whole lines keep their lines from interleaving.
  return pino(
    base,
    multistream([
      { level: options.level as pino.Level, stream: destination({ dest: 1, sync: true }) },
      { level: options.level as pino.Level, stream: destination({ dest: options.file, sync: true, append: true }) },
    ]),
  );
}
