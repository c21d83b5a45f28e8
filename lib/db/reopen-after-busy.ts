// Hand-written because the library has the defect and no release fixes it yet
// (libsql 0.5.29, @libsql/client 0.18.0; tursodatabase/libsql-client-ts#352,
// fixes proposed in tursodatabase/libsql-js#237 and #238). When a write on a
// local file fails with SQLITE_BUSY (the database stayed locked past the busy
// timeout), libsql leaves the failed statement in progress until the garbage
// collector finalizes it. Until then SQLite defers the commit of every later
// write on that pooled connection: they answer as if they succeeded, are
// visible to that connection only, and are lost when it closes. A claim that
// "succeeded" there would silently not exist for any other Lambda.
//
// So after any SQLITE_BUSY the client reopens its connections, which
// finalizes the stuck statement, before the failed call's caller (or anything
// else) can write on it again: the failing call is a synchronous native call,
// and the reopen runs in the first continuation after it, ahead of any
// operation that could borrow that connection next; one that borrowed it
// meanwhile fails with CLIENT_CLOSED instead of losing its write.
import type { Client } from '@libsql/client';

const WRAPPED = new Set<PropertyKey>(['execute', 'batch', 'migrate', 'transaction', 'executeMultiple']);

export function reopenAfterBusy<C extends Client>(client: C): C {
  return new Proxy(client, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      // The client keeps its pool in private fields: its methods must run on the client itself.
      if (!WRAPPED.has(property)) return (value as (...a: unknown[]) => unknown).bind(target);
      return (...args: unknown[]): Promise<unknown> =>
        (value as (...a: unknown[]) => Promise<unknown>).apply(target, args).catch(async (error: unknown) => {
          if (isBusy(error) && !target.closed) await target.reconnect();
          throw error;
        });
    },
  });
}

function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}
