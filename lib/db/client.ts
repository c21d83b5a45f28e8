import { createClient as createRemoteClient } from '@libsql/client/http';
import type { Client } from '@libsql/client/http';
import { reopenAfterBusy } from './reopen-after-busy.ts';
import { migrate } from './schema.ts';

export type { Client as DatabaseClient };

/** How long a write waits for another writer's lock before it fails. */
export const DATABASE_BUSY_TIMEOUT_MS = 5_000;

// What libSQL's HTTP client speaks (libsql: is https, or http with ?tls=0).
// Anything else (file:, :memory:) is a database on this machine's disk.
const REMOTE_URL = /^(?:libsql|https?):/i;

/**
 * Opens the database and brings its schema up to date. A libSQL server is
 * reached with the HTTP client, which is plain JavaScript; only a local file
 * needs libsql's native binary. On AWS the database is always a server
 * (lib/config.ts refuses a file), and the bundles of the AWS stages replace
 * the native driver with lib/db/no-local-database.ts (serverless.yml,
 * custom.esbuild.alias): the binary is neither loaded nor packed there.
 */
export async function openDatabase(url: string, authToken?: string): Promise<Client> {
  const client = REMOTE_URL.test(url) ? createRemoteClient({ url, authToken, intMode: 'number' }) : await openLocalFile(url);
  await migrate(client);
  return client;
}

/**
 * `file:` URLs get a busy timeout so concurrent writers (several Lambda
 * workers locally) wait for the lock instead of failing with SQLITE_BUSY; WAL
 * is a property of the file, so setting it once through any pooled connection
 * is enough. Imported on demand: the only way to the native driver.
 */
async function openLocalFile(url: string): Promise<Client> {
  const { createClient } = await import('@libsql/client/sqlite3');
  const created = createClient({ url, intMode: 'number', timeout: DATABASE_BUSY_TIMEOUT_MS });
  if (!url.toLowerCase().startsWith('file:')) return created;
  // libsql's native driver has a defect that reopen-after-busy.ts works around.
  const client = reopenAfterBusy(created);
  await client.execute('PRAGMA journal_mode = WAL');
  return client;
}
