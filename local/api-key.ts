// `npm run api-key -- create --name NAME | list | revoke NAME`: API keys of
// the database `npm start` uses, or of a deployed stage's libSQL server with
// LIBSQL_URL (and LIBSQL_AUTH_TOKEN) set. A new key is printed once, alone on
// the last line; only its hash is stored.
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createApiKey } from '../lib/api-keys.ts';
import { loadDatabaseToolConfig } from '../lib/config.ts';
import { createApiKeysRepository } from '../lib/db/api-keys-repository.ts';
import { openDatabase } from '../lib/db/client.ts';
import { AppError, ConfigError } from '../lib/errors.ts';
import { PROJECT_ROOT } from './resources.ts';

const USAGE = 'usage: npm run api-key -- create --name NAME | list | revoke NAME';

const { positionals, values } = parseArgs({ args: process.argv.slice(2), options: { name: { type: 'string' } }, allowPositionals: true });
const [command, ...rest] = positionals;

const localFile = resolve(PROJECT_ROOT, process.env.DATA_DIR ?? '.data', 'images.db');
const config = loadDatabaseToolConfig(process.env, `file:${localFile}`);
if (config.databaseUrl.startsWith('file:')) mkdirSync(dirname(config.databaseUrl.slice('file:'.length)), { recursive: true });

try {
  if (command === 'create' && values.name !== undefined && rest.length === 0) await create(values.name);
  else if (command === 'list' && rest.length === 0 && values.name === undefined) await list();
  else if (command === 'revoke' && rest.length === 1 && values.name === undefined) await revoke(rest[0] ?? '');
  else {
    console.error(USAGE);
    process.exitCode = 2;
  }
} catch (error) {
  if (!(error instanceof AppError || error instanceof ConfigError)) throw error;
  console.error(error.message);
  process.exitCode = 1;
}

async function withKeys<T>(fn: (keys: ReturnType<typeof createApiKeysRepository>) => Promise<T>): Promise<T> {
  const db = await openDatabase(config.databaseUrl, config.databaseAuthToken);
  try {
    return await fn(createApiKeysRepository(db));
  } finally {
    db.close();
  }
}

async function create(name: string): Promise<void> {
  const { key } = await withKeys((keys) => createApiKey(keys, name));
  console.log(`Created API key "${name}" in ${config.databaseUrl}. It is shown only now; send it as "Authorization: Bearer <key>" or "x-api-key: <key>":`);
  console.log(key);
}

async function list(): Promise<void> {
  const records = await withKeys((keys) => keys.list());
  if (records.length === 0) {
    console.log(`No API keys in ${config.databaseUrl}.`);
    return;
  }
  const rows = records.map((r) => [r.name, r.revokedAt === null ? 'active' : `revoked ${r.revokedAt}`, r.createdAt, r.lastUsedAt ?? 'never']);
  const header = ['name', 'status', 'created', 'last used'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]?.length ?? 0)));
  for (const row of [header, ...rows]) console.log(row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ').trimEnd());
}

async function revoke(name: string): Promise<void> {
  const revoked = await withKeys((keys) => keys.revoke(name, new Date()));
  if (!revoked) {
    console.error(`No active API key named "${name}".`);
    process.exitCode = 1;
    return;
  }
  console.log(`Revoked API key "${name}": it is refused from now on.`);
}
