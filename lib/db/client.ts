import { createClient } from '@libsql/client';
import type { Client } from '@libsql/client';
import { reopenAfterBusy } from './reopen-after-busy.ts';
import { migrate } from './schema.ts';

export type { Client as DatabaseClient };

/** How long a write waits for another writer's lock before it fails. */
export const DATABASE_BUSY_TIMEOUT_MS = 5_000;

/**
 * Opens the database and brings its schema up to date. `file:` URLs get a busy
 * timeout so concurrent writers (several Lambda workers locally) wait for the
 * lock instead of failing with SQLITE_BUSY; WAL is a property of the file, so
 * setting it once through any pooled connection is enough.
 */
export async function openDatabase(url: string, authToken?: string): Promise<Client> {
  const created = createClient({ url, authToken, intMode: 'number', timeout: DATABASE_BUSY_TIMEOUT_MS });
  // A local file is reached through libsql's native driver, whose defect reopen-after-busy.ts works around.
  const client = url.startsWith('file:') ? reopenAfterBusy(created) : created;
  if (url.startsWith('file:')) await client.execute('PRAGMA journal_mode = WAL');
  await migrate(client);
  return client;
}
