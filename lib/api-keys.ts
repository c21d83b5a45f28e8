// API keys: made here, shown once, stored as a hash, checked on every request.
// A key is 32 random bytes, so a plain SHA-256 is enough: a slow password
// hash guards low-entropy secrets, and would cost every request its time.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { ApiKeyRecord, ApiKeysRepository } from './db/api-keys-repository.ts';
import { BadRequestError } from './errors.ts';

const PREFIX = 'ipk_';
const KEY_SHAPE = /^ipk_[A-Za-z0-9_-]{43}$/;
const NAME_SHAPE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** last_used_at is written at most this often per key. */
const TOUCH_INTERVAL_MS = 60_000;

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** The new key, which exists nowhere else: it cannot be shown again. */
export async function createApiKey(keys: ApiKeysRepository, name: string, now = new Date()): Promise<{ key: string; record: ApiKeyRecord }> {
  if (!NAME_SHAPE.test(name)) {
    throw new BadRequestError('A key name is 1 to 64 letters, digits, dots, dashes or underscores, starting with a letter or digit');
  }
  const key = `${PREFIX}${randomBytes(32).toString('base64url')}`;
  const record = { id: randomUUID(), name, createdAt: now.toISOString() };
  if (!(await keys.insert({ ...record, keyHash: hashApiKey(key) }))) {
    throw new BadRequestError(`An active key named ${name} exists: revoke it first`);
  }
  return { key, record: { ...record, lastUsedAt: null, revokedAt: null } };
}

/**
 * The key's record when `presented` is an active key, else null. Anything not
 * shaped like a key is refused without a query.
 */
export async function verifyApiKey(keys: ApiKeysRepository, presented: string, now = new Date()): Promise<ApiKeyRecord | null> {
  if (!KEY_SHAPE.test(presented)) return null;
  const record = await keys.findActiveByHash(hashApiKey(presented));
  if (record === null) return null;
  if (record.lastUsedAt === null || now.getTime() - Date.parse(record.lastUsedAt) >= TOUCH_INTERVAL_MS) {
    await keys.touch(record.id, now, TOUCH_INTERVAL_MS);
  }
  return record;
}
