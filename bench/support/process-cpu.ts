// CPU time of the stack's processes, read from /proc (Linux only; elsewhere
// the breakdown is skipped): where the cores go during a run.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

export function procAvailable(): boolean {
  return existsSync('/proc/self/stat');
}

function parentPid(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return null;
  }
}

/**
 * Pids whose command line matches among this process's descendants (the
 * stack the bench started): on a shared machine, other people's stacks run
 * the same commands.
 */
export function findProcesses(pattern: RegExp): number[] {
  if (!procAvailable()) return [];
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (pattern.test(cmdline) && descendsFromThisProcess(Number(entry))) pids.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

function descendsFromThisProcess(pid: number): boolean {
  for (let current: number | null = pid, depth = 0; current !== null && current > 1 && depth < 64; depth++) {
    current = parentPid(current);
    if (current === process.pid) return true;
  }
  return false;
}

/** User + system seconds of a process, all its threads; null once it is gone. */
export function cpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which may itself contain spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / clockTicks();
  } catch {
    return null;
  }
}

export interface CpuProbe {
  /** Seconds of CPU per named group since the probe started. */
  read(): Record<string, number>;
}

export function startCpuProbe(groups: Record<string, RegExp>): CpuProbe {
  const startAt = new Map<string, Array<[number, number]>>();
  for (const [name, pattern] of Object.entries(groups)) {
    startAt.set(
      name,
      findProcesses(pattern).map((pid) => [pid, cpuSeconds(pid) ?? 0]),
    );
  }
  const self = process.cpuUsage();
  return {
    read() {
      const result: Record<string, number> = {};
      for (const [name, pids] of startAt) result[name] = pids.reduce((total, [pid, before]) => total + Math.max(0, (cpuSeconds(pid) ?? before) - before), 0);
      const used = process.cpuUsage(self);
      result['bench client'] = (used.user + used.system) / 1e6;
      return result;
    },
  };
}
