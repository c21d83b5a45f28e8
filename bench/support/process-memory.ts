// Resident memory of the stack's processes during a run, read from /proc
// (Linux only; elsewhere the figure is n/a): serverless-offline with its
// Lambda worker threads, the emulator and the SQS pollers. The processes'
// RSS is summed at each sample; the largest sum is the run's peak.
import { readFileSync } from 'node:fs';
import { findProcesses, procAvailable } from './process-cpu.ts';

function rssKiB(pid: number): number {
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}

export interface MemoryProbe {
  /** The largest summed RSS seen, in MiB (NaN without /proc). */
  stop(): number;
}

export function startMemoryProbe(groups: Record<string, RegExp>, intervalMs = 50): MemoryProbe {
  if (!procAvailable()) return { stop: () => Number.NaN };
  const pids = Object.values(groups).flatMap((pattern) => findProcesses(pattern));
  let peakKiB = 0;
  const sample = (): void => {
    peakKiB = Math.max(peakKiB, pids.reduce((total, pid) => total + rssKiB(pid), 0));
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return peakKiB / 1024;
    },
  };
}
