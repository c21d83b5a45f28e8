// Many uploads of real photos at a fixed concurrency while the processor runs,
// then an account of every one: answered how, ended how, lost or not. Used by
// the load test (a short run) and `npm run load` (the long one).
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Envelope, ImageDetail } from './api-types.ts';

export interface LoadOptions {
  apiUrl: string;
  /** Photos to upload, cycled through. */
  files: Array<{ name: string; bytes: Buffer }>;
  uploads: number;
  concurrency: number;
  /** How long accepted images may take to become terminal after the last upload. */
  settleTimeoutMs: number;
  /** Processes whose resident memory is sampled during the run (the stack's). */
  pids?: number[];
}

export interface LoadReport {
  uploads: number;
  answers: Record<string, number>;
  accepted: number;
  success: number;
  failed: number;
  lost: number;
  unexpected5xx: number;
  uploadLatencyMs: { p50: number; p99: number };
  elapsedMs: number;
  settleMs: number;
  peakRssMiB: number;
  stats: { total: number; success: number; failed: number };
}

export async function runLoad(options: LoadOptions): Promise<LoadReport> {
  const answers: Record<string, number> = {};
  const acceptedIds: string[] = [];
  const latencies: number[] = [];
  let unexpected5xx = 0;
  let peakRss = 0;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, rssOf(options.pids ?? []));
  }, 100);

  const started = performance.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < options.uploads) {
      const index = next++;
      const file = options.files[index % options.files.length];
      if (!file) return;
      const form = new FormData();
      form.append('file', new Blob([file.bytes]), file.name);
      const t0 = performance.now();
      let status: number;
      try {
        const res = await fetch(`${options.apiUrl}/api/images`, { method: 'POST', body: form });
        status = res.status;
        const body = (await res.json()) as Envelope<ImageDetail | null>;
        if (status === 202 && body.data) acceptedIds.push(body.data.image_id);
      } catch {
        status = 0; // no answer at all
      }
      latencies.push(performance.now() - t0);
      answers[String(status)] = (answers[String(status)] ?? 0) + 1;
      if (status >= 500 && status !== 503) unexpected5xx++;
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  const uploaded = performance.now();

  const pending = new Set(acceptedIds);
  let success = 0;
  let failed = 0;
  const deadline = Date.now() + options.settleTimeoutMs;
  while (pending.size > 0 && Date.now() < deadline) {
    for (const id of [...pending]) {
      const res = await fetch(`${options.apiUrl}/api/images/${id}`);
      const detail = ((await res.json()) as Envelope<ImageDetail>).data;
      if (detail.status === 'success') success++;
      else if (detail.status === 'failed') failed++;
      else continue;
      pending.delete(id);
    }
    if (pending.size > 0) await sleep(250);
  }
  const settled = performance.now();
  clearInterval(sampler);
  const stats = ((await (await fetch(`${options.apiUrl}/api/stats`)).json()) as Envelope<{ total: number; success: number; failed: number }>).data;
  latencies.sort((a, b) => a - b);
  return {
    uploads: options.uploads,
    answers,
    accepted: acceptedIds.length,
    success,
    failed,
    lost: pending.size,
    unexpected5xx,
    uploadLatencyMs: { p50: round(percentile(latencies, 0.5)), p99: round(percentile(latencies, 0.99)) },
    elapsedMs: round(settled - started),
    settleMs: round(settled - uploaded),
    peakRssMiB: round(peakRss / (1024 * 1024)),
    stats: { total: stats.total, success: stats.success, failed: stats.failed },
  };
}

function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

/** Resident memory of the processes, from /proc (Linux). */
function rssOf(pids: number[]): number {
  let total = 0;
  for (const pid of pids) {
    try {
      const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      total += Number(match?.[1] ?? 0) * 1024;
    } catch {
      // process gone
    }
  }
  return total;
}
