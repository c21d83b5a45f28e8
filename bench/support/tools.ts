// The command-line tools the processing bench compares against. A missing
// tool is reported with how to install it, and its column reads "n/a".
import { spawnSync } from 'node:child_process';
import { accessSync, constants, closeSync, openSync, readSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { performance } from 'node:perf_hooks';

export interface Tool {
  name: string;
  path: string;
  version: string;
}

const INSTALL_HINTS: Record<string, string> = {
  djpeg: 'Debian/Ubuntu: apt-get install -y libjpeg-turbo-progs; macOS: brew install jpeg-turbo',
  vipsthumbnail: 'Debian/Ubuntu: apt-get install -y libvips-tools; macOS: brew install vips',
  convert: 'Debian/Ubuntu: apt-get install -y imagemagick; macOS: brew install imagemagick',
};

export function installHint(name: string): string {
  return INSTALL_HINTS[name] ?? `install ${name}`;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function isScript(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(2);
    readSync(fd, head, 0, 2, 0);
    return head.toString('latin1') === '#!';
  } finally {
    closeSync(fd);
  }
}

/**
 * The first executable of that name on PATH, preferring a native binary over
 * a script: a wrapper script (a shim in front of ImageMagick, say) would add
 * its own interpreter's start-up to every timing.
 */
export function findExecutable(name: string): string | null {
  const candidates = (process.env.PATH ?? '')
    .split(delimiter)
    .filter((dir) => dir !== '')
    .map((dir) => join(dir, name))
    .filter(isExecutable);
  return candidates.find((path) => !isScript(path)) ?? candidates[0] ?? null;
}

function firstLine(text: string): string {
  return text.split('\n').find((line) => line.trim() !== '')?.trim() ?? '';
}

const VERSION_ARGS: Record<string, string[]> = {
  djpeg: ['-version'],
  vipsthumbnail: ['--vips-version'],
  convert: ['-version'],
};

export function findTool(name: string): Tool | null {
  const path = findExecutable(name);
  if (path === null) return null;
  const run = spawnSync(path, VERSION_ARGS[name] ?? ['--version'], { encoding: 'utf8', timeout: 10_000 });
  return { name, path, version: firstLine(`${run.stdout ?? ''}\n${run.stderr ?? ''}`) };
}

/** Runs a command to completion; wall time in ms, from spawn to exit. Throws when it fails. */
export function timeCommand(path: string, args: readonly string[]): number {
  const started = performance.now();
  const run = spawnSync(path, args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 120_000 });
  const elapsed = performance.now() - started;
  if (run.status !== 0) {
    throw new Error(`${path} ${args.join(' ')} failed (${run.status ?? run.signal}): ${run.stderr?.toString('utf8').trim() ?? run.error?.message}`);
  }
  return elapsed;
}

const SHELL_TIMES = /(\d+)m([\d.]+)s\s+(\d+)m([\d.]+)s\s*$/;

/**
 * CPU time (user + system, ms) a command spends, all its threads included:
 * bash's `times` prints the children's rusage with millisecond precision.
 * Wall time hides the cores a multi-threaded tool (ImageMagick's OpenMP,
 * libvips' workers) keeps busy.
 */
export function cpuCommand(path: string, args: readonly string[]): number {
  const run = spawnSync('bash', ['-c', '"$@" >/dev/null || exit $?; times', 'bench', path, ...args], { encoding: 'utf8', timeout: 120_000 });
  if (run.status !== 0) throw new Error(`${path} ${args.join(' ')} failed (${run.status ?? run.signal}): ${run.stderr.trim()}`);
  // The second line of `times` is the children's user and system time.
  const match = SHELL_TIMES.exec(run.stdout.trim());
  if (!match) throw new Error(`unexpected output of bash times: ${run.stdout}`);
  const [, um, us, sm, ss] = match;
  return (Number(um) * 60 + Number(us) + Number(sm) * 60 + Number(ss)) * 1000;
}
