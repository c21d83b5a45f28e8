// The cold start every function shares: configuration validated at module
// scope, the logger, and on first use the database and the access check.
// Nothing here imports an AWS SDK client, sharp or the caption client: a
// Lambda bundle carries what its function imports, and loading code is most
// of a cold start, so the functions that only read the database (list,
// detail, stats) start without them. lib/deps.ts builds storage, the job
// queue and the captioner on top, for the functions that call them.
import { loadAccess } from './access.ts';
import type { Access } from './access.ts';
import { getConfig } from './config.ts';
import type { Config } from './config.ts';
import { openDatabase } from './db/client.ts';
import type { DatabaseClient } from './db/client.ts';
import { createImagesRepository } from './db/images-repository.ts';
import type { ImagesRepository } from './db/images-repository.ts';
import { createLogger } from './log.ts';
import type { Logger } from './log.ts';
import { readSecureParameter } from './secure-parameters.ts';

export interface DatabaseDeps {
  config: Config;
  logger: Logger;
  db: DatabaseClient;
  images: ImagesRepository;
}

export type DepsBuilder<D extends DatabaseDeps> = (config: Config, logger: Logger) => Promise<D>;

export async function createDatabaseDeps(config: Config, logger: Logger): Promise<DatabaseDeps> {
  const db = await openDatabase(config.databaseUrl, await databaseAuthToken(config));
  return { config, logger, db, images: createImagesRepository(db) };
}

/** On AWS the token is a SecureString (LIBSQL_AUTH_TOKEN_PARAMETER), never in the template or the environment. */
async function databaseAuthToken(config: Config): Promise<string | undefined> {
  if (config.databaseAuthToken !== undefined || config.databaseAuthTokenParameter === undefined) return config.databaseAuthToken;
  return readSecureParameter(config, config.databaseAuthTokenParameter);
}

export function createProcessLogger(config: Config, name: string): Logger {
  return createLogger({ level: config.logLevel, file: config.logFile, name, fileMaxBytes: config.logFileMaxBytes });
}

export interface LambdaRuntime<D extends DatabaseDeps> {
  config: Config;
  logger: Logger;
  /** Built once per process; a failed start (database unreachable) is retried on the next call. */
  deps: () => Promise<D>;
  /** The access check and thumbnail links of an HTTP function (lib/http.ts runs the check). */
  access: () => Promise<Access>;
}

/**
 * Called at module scope by each function with the builder of what it uses:
 * configuration is validated during the cold start, so a missing variable
 * stops the function with its name instead of surfacing later as a confusing
 * runtime error.
 */
export function lambdaRuntime<D extends DatabaseDeps>(name: string, build: DepsBuilder<D>): LambdaRuntime<D> {
  const config = getConfig();
  const logger = createProcessLogger(config, name);
  let deps: Promise<D> | undefined;
  const getDeps = (): Promise<D> => {
    deps ??= build(config, logger).catch((error: unknown) => {
      deps = undefined;
      throw error;
    });
    return deps;
  };
  let access: Promise<Access> | undefined;
  const getAccess = (): Promise<Access> => {
    access ??= getDeps()
      .then(({ db }) => loadAccess(config, db))
      .catch((error: unknown) => {
        access = undefined;
        throw error;
      });
    return access;
  };
  return { config, logger, deps: getDeps, access: getAccess };
}
