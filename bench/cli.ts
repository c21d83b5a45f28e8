// `npm run bench:cli`: the command-line client's throughput on the test
// photos through a stack of its own: upload only, upload and follow each to
// `success` (--wait), and a second run of the same folder (every file already
// uploaded: the Idempotency-Key replays), at a few concurrencies. Each round
// gets bytes no earlier round sent (a byte after the JPEG's end, which
// decoders ignore), so it uploads for real.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { PROJECT_ROOT } from '../local/resources.ts';
import { realPhotos } from './support/photos.ts';
import { fmt, median, printSection, progress, table } from './support/report.ts';
import { QUIET_DEV_SERVER, withStack } from './support/stack-session.ts';

const CLI = resolve(PROJECT_ROOT, 'cli/main.ts');
const CONCURRENCIES = [1, 4, 8];
/** Each figure is the median of this many runs: on two cores the stack's own work makes single runs noisy. */
const REPEATS = Number(process.env.BENCH_CLI_REPEATS ?? 3);

interface Round {
  label: string;
  concurrency: number;
  files: number;
  megabytes: number;
  seconds: number;
  ok: number;
}

function runCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [CLI, ...args], { maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      done({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

const photos = await realPhotos();
const workDir = mkdtempSync(join(tmpdir(), 'bench-cli-'));
const megabytes = photos.reduce((sum, photo) => sum + photo.bytes.length, 0) / 1e6;
progress(`${photos.length} photos, ${megabytes.toFixed(1)} MB`);

/** A folder of the photos with `salt` bytes appended: bytes no other round sent. */
function folderFor(salt: number): string {
  const folder = join(workDir, `round-${salt}`);
  mkdirSync(folder);
  for (const [i, photo] of photos.entries()) {
    writeFileSync(join(folder, `${String(i).padStart(3, '0')}-${basename(photo.name)}`), Buffer.concat([photo.bytes, Buffer.alloc(salt, 0)]));
  }
  return folder;
}

const rounds: Round[] = [];
try {
  await withStack(QUIET_DEV_SERVER, async ({ stack }) => {
    // One warm-up upload: the functions' first build and cold start are not the client's.
    await runCli(['upload', folderFor(1000), '--api', stack.apiUrl, '--wait', '--json', '--concurrency', '4']);
    let salt = 1;
    for (const concurrency of CONCURRENCIES) {
      for (const wait of [false, true]) {
        const times: number[] = [];
        const replays: number[] = [];
        let ok = photos.length;
        for (let repeat = 0; repeat < REPEATS; repeat++) {
          const folder = folderFor(salt++);
          const args = ['upload', folder, '--api', stack.apiUrl, '--json', '--concurrency', String(concurrency), ...(wait ? ['--wait'] : [])];
          const started = performance.now();
          const { code, stdout, stderr } = await runCli(args);
          times.push((performance.now() - started) / 1000);
          if (code !== 0) throw new Error(`cli exited ${code}: ${stderr}`);
          ok = Math.min(ok, stdout.trim().split('\n').filter((line) => (JSON.parse(line) as { status: string }).status === (wait ? 'success' : 'queued')).length);
          if (!wait) {
            const again = performance.now();
            const second = await runCli(args);
            if (second.code !== 0) throw new Error(`cli exited ${second.code}: ${second.stderr}`);
            replays.push((performance.now() - again) / 1000);
          }
        }
        rounds.push({ label: wait ? 'upload --wait (to success)' : 'upload', concurrency, files: photos.length, megabytes, seconds: median(times), ok });
        progress(`${rounds.at(-1)?.label} x${concurrency}: ${times.map((t) => t.toFixed(2)).join(', ')} s`);
        if (!wait) rounds.push({ label: 'same folder again (replayed)', concurrency, files: photos.length, megabytes, seconds: median(replays), ok: photos.length });
      }
    }
  });
} finally {
  rmSync(workDir, { recursive: true, force: true });
}

printSection(
  'CLI upload throughput (test photos)',
  `${photos.length} photos of test/fixtures/images (${megabytes.toFixed(1)} MB, 100 px to 12 MP), \`imageprocessingapi upload <folder> --json\` against a local stack with captions off; wall time of the whole command, Node start included; the median of ${REPEATS} runs.`,
  table(
    ['run', 'concurrency', 'files', 'seconds', 'files/s', 'MB/s', 'ended well'],
    rounds.map((round) => [round.label, String(round.concurrency), String(round.files), fmt(round.seconds, 2), fmt(round.files / round.seconds), fmt(round.megabytes / round.seconds, 2), `${round.ok}/${round.files}`]),
  ),
);
