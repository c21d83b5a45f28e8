// Benchmark 5: cold starts of the deployable functions. `serverless package
// --stage dev` as a deploy runs it (offline, dummy credentials, the
// architecture of resources.json), then each zip is unzipped beside the AWS
// SDK clients the Lambda runtime provides and imported in a fresh Node
// process, as the runtime's init does; the figure is that process minus an
// empty Node process (the same loader importing nothing), so Node's own start
// is left out. Rounds are interleaved (empty, every function, again), so a
// neighbour's burst on a shared machine hits all alike; medians and minimums.
//   npm run bench:cold-start
// Knobs: BENCH_COLD_ROUNDS (15).
// What happens after init is not in the init figures: the first request
// still loads what is used on first use (Node's fetch for the database's HTTP
// client, shown beside; the SDK's credential chain) and opens the connections.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { arch } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import JSZip from 'jszip';
import { PROJECT_ROOT, RESOURCES } from '../local/resources.ts';
import { createWorkspace, readJson, serverless, testEnv } from '../test/deploy/support/serverless-workspace.ts';
import { fmt, median, printSection, progress, table, verdict } from './support/report.ts';

const ROUNDS = Number(process.env.BENCH_COLD_ROUNDS ?? 15);
const STAGE = 'dev';
// The child imports one bundle (or nothing: the empty process) and prints how
// long since its process began and the CPU it has used; then it makes a first
// fetch, as the database's HTTP client does on its first query (Node loads its
// fetch implementation then), and prints how long that took. Plain JavaScript
// passed with -e, so no type stripping is loaded into the measured process.
const CHILD = [
  'const bundle = process.argv[1];',
  "if (bundle) await import('file://' + bundle);",
  'const wallMs = performance.now();',
  'const cpu = process.cpuUsage();',
  'const rssMb = process.memoryUsage().rss / 1048576;',
  "await (await fetch('data:,')).text();",
  'console.log(JSON.stringify({ wallMs, cpuMs: (cpu.user + cpu.system) / 1000, rssMb, firstFetchMs: performance.now() - wallMs }));',
].join('\n');
/** The AWS SDK v3 client the bundles leave to the Lambda Node.js runtime (serverless.yml's esbuild `exclude`). */
const RUNTIME_SDK = ['@aws-sdk/client-ssm'];

interface Target {
  initMs: number;
  zipMb?: number;
}
const LEAN: Target = { initMs: 40, zipMb: 1 };
/** The functions the targets name; the others are measured and shown without one. */
const TARGETS: Record<string, Target> = {
  listImages: LEAN,
  getImage: LEAN,
  getStats: LEAN,
  getThumbnail: LEAN,
  uploadImage: LEAN,
  processImages: { initMs: 150 },
};

interface Sample {
  wallMs: number;
  cpuMs: number;
  rssMb: number;
  firstFetchMs: number;
}

interface CfnFunction {
  Type: string;
  Properties: { Handler: string; MemorySize: number; Environment?: { Variables?: Record<string, unknown> } };
}

function sample(cwd: string, env: NodeJS.ProcessEnv, bundle?: string): Sample {
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', CHILD, ...(bundle ? [bundle] : [])], { cwd, env, encoding: 'utf8', timeout: 60_000 });
  return JSON.parse(out.trim().split('\n').pop() ?? '{}') as Sample;
}

async function extract(zipPath: string, into: string): Promise<void> {
  const zip = await JSZip.loadAsync(readFileSync(zipPath));
  for (const entry of Object.values(zip.files)) {
    if (entry.dir) continue;
    const target = join(into, entry.name);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, await entry.async('nodebuffer'));
  }
}

async function main(): Promise<void> {
  const workspace = createWorkspace('bench-cold-start');
  try {
    progress(`cold start: serverless package --stage ${STAGE}`);
    const packaged = await serverless(workspace, ['package', '--stage', STAGE], testEnv({ LIBSQL_URL: 'libsql://example.turso.io', AWS_REGION: 'us-east-1' }));
    if (packaged.code !== 0 || packaged.timedOut) throw new Error(`serverless package failed:\n${packaged.output.slice(-4000)}`);
    const out = join(workspace.dir, '.serverless');
    const template = readJson<{ Resources: Record<string, CfnFunction> }>(join(out, 'cloudformation-template-update-stack.json'));
    const functions = Object.entries(template.Resources)
      .filter(([, r]) => r.Type === 'AWS::Lambda::Function')
      .map(([id, r]) => ({ name: id.replace(/LambdaFunction$/, '').replace(/^./, (c) => c.toLowerCase()), props: r.Properties }));

    const root = join(workspace.dir, 'unzipped');
    mkdirSync(join(root, 'node_modules', '@aws-sdk'), { recursive: true });
    for (const name of RUNTIME_SDK) symlinkSync(resolve(PROJECT_ROOT, 'node_modules', name), join(root, 'node_modules', name), 'dir');
    const nativeCpu = RESOURCES.lambdaArchitecture === 'arm64' ? 'arm64' : 'x64';
    const cases: Array<{ name: string; bundle: string; zipBytes: number; memoryMb: number; env: NodeJS.ProcessEnv; samples: Sample[] }> = [];
    for (const { name, props } of functions) {
      const zipPath = join(out, `${name}.zip`);
      const dir = join(root, name);
      await extract(zipPath, dir);
      const variables = Object.entries(props.Environment?.Variables ?? {}).filter((entry): entry is [string, string] => typeof entry[1] === 'string');
      const env: NodeJS.ProcessEnv = {
        PATH: process.env.PATH,
        ...Object.fromEntries(variables),
        BUCKET_NAME: `${RESOURCES.service}-${STAGE}-123456789012-us-east-1-images`,
        QUEUE_URL: `https://sqs.us-east-1.amazonaws.com/123456789012/${RESOURCES.service}-${STAGE}-jobs`,
        LIBSQL_URL: 'libsql://example.turso.io',
        AWS_REGION: 'us-east-1',
        AWS_LAMBDA_FUNCTION_NAME: `${RESOURCES.service}-${STAGE}-${name}`,
      };
      const bundle = join(dir, `${props.Handler.replace(/\.handler$/, '')}.mjs`);
      if (readFileSync(bundle, 'utf8').includes('from "sharp"') && nativeCpu !== arch()) {
        progress(`${name}: not loaded, its sharp is built for ${nativeCpu} and this machine is ${arch()}`);
        continue;
      }
      cases.push({ name, bundle, zipBytes: statSync(zipPath).size, memoryMb: props.MemorySize, env, samples: [] });
    }

    const empty: Sample[] = [];
    progress(`cold start: ${ROUNDS} rounds of ${cases.length} functions and the empty process, interleaved`);
    for (const c of cases) sample(dirname(c.bundle), c.env, c.bundle); // warms the page cache
    for (let round = 0; round < ROUNDS; round++) {
      const first = cases[0];
      if (first) empty.push(sample(dirname(first.bundle), first.env));
      for (const c of cases) c.samples.push(sample(dirname(c.bundle), c.env, c.bundle));
    }

    const base = { wall: median(empty.map((s) => s.wallMs)), cpu: median(empty.map((s) => s.cpuMs)), minWall: Math.min(...empty.map((s) => s.wallMs)), rss: median(empty.map((s) => s.rssMb)) };
    const rows: string[][] = [];
    const verdicts: string[][] = [];
    for (const c of cases) {
      const init = median(c.samples.map((s) => s.wallMs)) - base.wall;
      const initMin = Math.min(...c.samples.map((s) => s.wallMs)) - base.minWall;
      const cpu = median(c.samples.map((s) => s.cpuMs)) - base.cpu;
      const zipMb = c.zipBytes / 1e6;
      const target = TARGETS[c.name];
      const firstFetch = median(c.samples.map((s) => s.firstFetchMs));
      rows.push([c.name, String(c.memoryMb), fmt(zipMb, 2), fmt(init, 0), fmt(initMin, 0), fmt(cpu, 0), fmt(firstFetch, 0), fmt(median(c.samples.map((s) => s.rssMb)) - base.rss, 0)]);
      if (target) {
        verdicts.push([`${c.name}: init ≤ ${target.initMs} ms`, `${init.toFixed(0)} ms (min ${initMin.toFixed(0)})`, verdict(init <= target.initMs)]);
        if (target.zipMb !== undefined) verdicts.push([`${c.name}: zip ≤ ${target.zipMb} MB`, `${zipMb.toFixed(2)} MB`, verdict(zipMb <= target.zipMb)]);
      }
    }
    printSection(
      'Cold starts of the packaged functions',
      `\`serverless package --stage ${STAGE}\` (${RESOURCES.lambdaArchitecture}), each zip unzipped beside the AWS SDK clients the Lambda runtime provides (${RUNTIME_SDK.join(', ')}, from node_modules) and imported in a fresh Node ${process.version} process with the function's environment from the template. ` +
        `Init: that process's time from its start to the end of the import, minus the same for an empty process (median ${fmt(base.wall, 0)} ms here, ${fmt(base.cpu, 0)} ms CPU); ${ROUNDS} rounds, interleaved; median and the minimum of each. ` +
        'CPU: user + system of the process, minus the empty one. RSS: resident memory after the import, minus the empty one. Zip sizes in MB (10^6 bytes). ' +
        `First fetch: not part of init, the first request pays it: Node loads its fetch implementation on first use, which the database's HTTP client needs for its first query (${fmt(median(empty.map((s) => s.firstFetchMs)), 0)} ms in the empty process; less where the bundle has already loaded Node's network modules). ` +
        'Lambda gives CPU in proportion to memory (1,769 MB is one vCPU), so at 512 MB the same init takes up to about 3.5x longer there than on a full core here.',
      table(['function', 'memory MB', 'zip MB', 'init ms (median)', 'init ms (min)', 'CPU ms', 'first fetch ms', 'RSS MiB added'], rows),
      table(['target', 'measured', 'verdict'], verdicts),
    );
  } finally {
    workspace.remove();
  }
}

await main();
