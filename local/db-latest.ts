// `npm run db:latest`: the specification's inspection query against the local database.
import { resolve } from 'node:path';
import { createClient } from '@libsql/client';
import { PROJECT_ROOT } from './resources.ts';

const url = process.env.LIBSQL_URL ?? `file:${resolve(PROJECT_ROOT, process.env.DATA_DIR ?? '.data', 'images.db')}`;
const db = createClient({ url, authToken: process.env.LIBSQL_AUTH_TOKEN });
const rs = await db.execute('SELECT id, original_name, status, created_at FROM images ORDER BY created_at DESC LIMIT 5');
console.log(JSON.stringify(rs.rows.map((r) => ({ id: r.id, name: r.original_name, status: r.status, created_at: r.created_at })), null, 2));
db.close();
