// Stands in for the native libSQL driver (@libsql/client/sqlite3) in the
// bundles of the AWS stages (serverless.yml, custom.esbuild.alias), so that
// libsql's binary is neither packed nor loaded there. lib/config.ts already
// refuses a `file:` database on Lambda; this is what a bundle would say if a
// local database were opened anyway.
import type { Client, Config } from '@libsql/client/http';

export function createClient(config: Config): Client {
  throw new Error(`This bundle reaches the database over HTTP only; ${config.url.split(':')[0] ?? 'this'}: URLs need the native driver, which is left out of it`);
}
