// All SQL about API keys. Keys arrive here already hashed (lib/api-keys.ts).
import type { Client, Row } from '@libsql/client';

export interface ApiKeyRecord {
  id: string;
  name: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

export interface ApiKeysRepository {
  /** False when an active key already has this name. */
  insert(record: { id: string; name: string; keyHash: string; createdAt: string }): Promise<boolean>;
  /** The active key with this hash, or null (unknown or revoked). */
  findActiveByHash(keyHash: string): Promise<ApiKeyRecord | null>;
  /** Records a use, at most once per `minIntervalMs`: reads are not turned into a write each. */
  touch(id: string, at: Date, minIntervalMs: number): Promise<void>;
  /** Every key, active and revoked, oldest first. */
  list(): Promise<ApiKeyRecord[]>;
  /** Revokes the active key of that name; false when there is none. */
  revoke(name: string, at: Date): Promise<boolean>;
}

function toRecord(row: Row): ApiKeyRecord {
  const text = (value: unknown): string | null => (value === null || value === undefined ? null : String(value));
  return {
    id: String(row.id),
    name: String(row.name),
    createdAt: String(row.created_at),
    lastUsedAt: text(row.last_used_at),
    revokedAt: text(row.revoked_at),
  };
}

const COLUMNS = 'id, name, created_at, last_used_at, revoked_at';

export function createApiKeysRepository(db: Client): ApiKeysRepository {
  return {
    async insert(record) {
      const result = await db.execute({
        sql: `INSERT INTO api_keys (id, name, key_hash, created_at) VALUES (?, ?, ?, ?)
              ON CONFLICT DO NOTHING`,
        args: [record.id, record.name, record.keyHash, record.createdAt],
      });
      return result.rowsAffected === 1;
    },
    async findActiveByHash(keyHash) {
      const result = await db.execute({ sql: `SELECT ${COLUMNS} FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL`, args: [keyHash] });
      const row = result.rows[0];
      return row ? toRecord(row) : null;
    },
    async touch(id, at, minIntervalMs) {
      const before = new Date(at.getTime() - minIntervalMs).toISOString();
      await db.execute({
        sql: 'UPDATE api_keys SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)',
        args: [at.toISOString(), id, before],
      });
    },
    async list() {
      const result = await db.execute(`SELECT ${COLUMNS} FROM api_keys ORDER BY created_at, name`);
      return result.rows.map(toRecord);
    },
    async revoke(name, at) {
      const result = await db.execute({
        sql: 'UPDATE api_keys SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL',
        args: [at.toISOString(), name],
      });
      return result.rowsAffected > 0;
    },
  };
}
