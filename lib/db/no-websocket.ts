// Stands in for @libsql/isomorphic-ws in the bundles of the AWS stages
// (serverless.yml, custom.esbuild.alias). libSQL's client library imports a
// WebSocket implementation (the `ws` package, and with it Node's TLS, HTTP
// and zlib modules) even where only its HTTP client is used, as
// lib/db/client.ts does: some 20 ms of every cold start, for code that never
// runs. The HTTP client refuses ws:// and wss:// URLs itself.
export const WebSocket: typeof globalThis.WebSocket | undefined = undefined;
