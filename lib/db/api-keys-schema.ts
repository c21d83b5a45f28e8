// API keys: only a SHA-256 of each key is stored. A revoked key keeps its row
// (who had access, and until when); a name is reusable once its key is revoked.
export const API_KEYS_STATEMENTS = [
  `CREATE TABLE IF NOT EXISTS api_keys (
     id           TEXT PRIMARY KEY,
     name         TEXT NOT NULL,
     key_hash     TEXT NOT NULL UNIQUE,
     created_at   TEXT NOT NULL,
     last_used_at TEXT,
     revoked_at   TEXT
   )`,
  'CREATE UNIQUE INDEX IF NOT EXISTS api_keys_active_name ON api_keys (name) WHERE revoked_at IS NULL',
];
