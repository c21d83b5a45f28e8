// What the figures were measured on: printed at the top of `npm run bench`.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import sharp from 'sharp';
import { findTool } from './tools.ts';

function cpuModel(): string {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('model name'));
    return line?.split(':')[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown';
  } catch {
    return os.cpus()[0]?.model ?? 'unknown';
  }
}

function osName(): string {
  try {
    const pretty = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(readFileSync('/etc/os-release', 'utf8'));
    return `${pretty?.[1] ?? os.type()} (kernel ${os.release()})`;
  } catch {
    return `${os.type()} ${os.release()}`;
  }
}

export function loadAverage(): string {
  return os
    .loadavg()
    .map((value) => value.toFixed(2))
    .join(' / ');
}

export function describeMachine(): string {
  const tools = ['djpeg', 'vipsthumbnail', 'convert'].map((name) => {
    const tool = findTool(name);
    return `${name}: ${tool ? tool.version : 'not installed'}`;
  });
  return [
    `- CPU: ${cpuModel()}, ${os.availableParallelism()} cores (nproc)`,
    `- memory: ${(os.totalmem() / 1024 ** 3).toFixed(1)} GiB`,
    `- OS: ${osName()}`,
    `- Node ${process.version}; sharp ${sharp.versions.sharp} with libvips ${sharp.versions.vips} (sharp.concurrency() = ${sharp.concurrency()}, UV_THREADPOOL_SIZE ${process.env.UV_THREADPOOL_SIZE ?? 'unset (4)'})`,
    `- ${tools.join('; ')}`,
    `- load average (1 / 5 / 15 min) at start: ${loadAverage()}`,
  ].join('\n');
}
