// A private copy of what `serverless package` reads (sources, serverless.yml,
// resources.json, package files; node_modules linked, not copied), so the
// deploy tests never share `.esbuild/` or `.serverless/` with a running
// `npm start` or another packaging run in the project folder.
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PROJECT_ROOT } from '../../../local/resources.ts';

const COPIED = ['functions', 'lib', 'web', 'deploy', 'serverless.yml', 'resources.json', 'package.json', 'package-lock.json', 'tsconfig.json'];

export interface Workspace {
  dir: string;
  remove(): void;
}

export function createWorkspace(prefix: string): Workspace {
  const root = mkdtempSync(join(tmpdir(), `${prefix}-`));
  const dir = join(root, 'project');
  for (const entry of COPIED) cpSync(resolve(PROJECT_ROOT, entry), join(dir, entry), { recursive: true });
  symlinkSync(resolve(PROJECT_ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  return { dir, remove: () => rmSync(root, { recursive: true, force: true }) };
}

export interface RunResult {
  code: number | null;
  /** stdout and stderr interleaved. */
  output: string;
  stdout: string;
  timedOut: boolean;
}

/**
 * Variables of the developer's shell that would change what serverless
 * resolves or where it sends requests; each test passes what it means to.
 */
const CLEARED = [
  'AWS_ENDPOINT_URL',
  'AWS_PROFILE',
  'AWS_SESSION_TOKEN',
  'AWS_REGION',
  'AWS_DEFAULT_REGION',
  'LIBSQL_URL',
  'LIBSQL_AUTH_TOKEN',
  'LOG_FILE',
  'HF_TOKEN',
  'HF_TOKEN_PARAMETER',
  'HF_TOKEN_KMS_KEY_ARN',
  'CORS_ALLOWED_ORIGIN',
  'CORS_ALLOWED_ORIGINS',
  'AUTH_MODE',
  'READ_ACCESS',
  'JWT_ISSUER',
  'JWT_AUDIENCE',
  'JWT_JWKS_URL',
  'THUMBNAIL_URL_SECRET',
  'THUMBNAIL_URL_SECRET_PARAMETER',
  'LIBSQL_AUTH_TOKEN_PARAMETER',
  'MAX_UPLOAD_BYTES',
  'LOCALSTACK_ENDPOINT',
];

export function testEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', SLS_TELEMETRY_DISABLED: '1' };
  for (const name of CLEARED) delete env[name];
  return { ...env, ...extra };
}

/**
 * Runs a command in the workspace with a deadline: when packaging fails, osls
 * can print the error and never exit, so the whole process group is killed.
 */
export function run(command: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number }): Promise<RunResult> {
  return new Promise((resolveRun) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    let stdout = '';
    let timedOut = false;
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      stdout += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
    }, options.timeoutMs);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolveRun({ code, output, stdout, timedOut });
    });
  });
}

export function serverless(workspace: Workspace, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 150_000): Promise<RunResult> {
  const bin = join(workspace.dir, 'node_modules/serverless/bin/serverless.js');
  return run(process.execPath, [bin, ...args], { cwd: workspace.dir, env, timeoutMs });
}

export function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}
