// `npm run bench`: every benchmark in turn, each in a process of its own (the
// end-to-end and read benches start and stop the stack themselves), after a
// description of the machine. The report also goes to .data/bench/report.md.
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { describeMachine, loadAverage } from './support/machine.ts';
import { BENCH_DATA_DIR } from './support/synthetic-images.ts';

const BENCHES = ['processing', 'e2e', 'read', 'memory', 'cold-start', 'cost'];

function run(script: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, [resolve(import.meta.dirname, `${script}.ts`)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      process.stdout.write(chunk);
    });
    child.once('error', reject);
    child.once('exit', (code) => resolveRun({ code, output }));
  });
}

const started = performance.now();
const selected = process.argv.slice(2).length > 0 ? process.argv.slice(2) : BENCHES;
let report = `## Machine\n\n${describeMachine()}\n`;
process.stdout.write(report);
const failed: string[] = [];
for (const bench of selected) {
  process.stderr.write(`[bench] ${bench} (load average ${loadAverage()})\n`);
  const benchStarted = performance.now();
  const { code, output } = await run(bench);
  const took = `\n_${bench}: ${((performance.now() - benchStarted) / 1000).toFixed(0)} s_\n`;
  process.stdout.write(took);
  report += output + took;
  if (code !== 0) failed.push(bench);
}
const total = `\nAll benches: ${((performance.now() - started) / 1000 / 60).toFixed(1)} min${failed.length > 0 ? `; failed: ${failed.join(', ')}` : ''}\n`;
process.stdout.write(total);
mkdirSync(BENCH_DATA_DIR, { recursive: true });
writeFileSync(join(BENCH_DATA_DIR, 'report.md'), report + total);
process.exitCode = failed.length > 0 ? 1 : 0;
