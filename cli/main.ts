#!/usr/bin/env node
// imageprocessingapi: the command-line client.
//   upload <files or folders...> [--api URL] [--api-key KEY] [--concurrency N] [--wait] [--json]
//   stats  [--api URL] [--api-key KEY] [--json]
//   list   [--status S] [--q words] [--limit N] [--api URL] [--api-key KEY] [--json]
// Exit codes: 0 every file ended well, 1 some did not, 2 the command could not run (usage, API unreachable).
import { parseArgs } from 'node:util';
import { loadCliConfig } from '../lib/config.ts';
import { createApiClient } from './api-client.ts';
import { collectFiles } from './files.ts';
import { barReporter, imagesTable, jsonReporter, lineReporter, statsTable, summary } from './report.ts';
import { endedWell, runUpload } from './upload-command.ts';

const USAGE = `Usage:
  imageprocessingapi upload <files or folders...> [--concurrency N] [--wait] [--json]
  imageprocessingapi stats [--json]
  imageprocessingapi list [--status queued|processing|success|failed|awaiting_upload] [--q words] [--limit N] [--json]

Options for every command:
  --api URL        the API (default: $IMAGEPROCESSINGAPI_URL, or http://localhost:8000)
  --api-key KEY    sent as Authorization: Bearer (default: $IMAGEPROCESSINGAPI_KEY)
  --json           one JSON object per line instead of tables

upload:
  Folders are walked; files that are not JPEG or PNG (by their bytes) are skipped.
  --concurrency N  uploads at once (default 4)
  --wait           follow each image until it is processed (success or failed)
  --wait-timeout S give up following one image after S seconds (default 600)
`;

const DEFAULT_API = 'http://localhost:8000';

class UsageError extends Error {}

function positiveInteger(raw: string | undefined, name: string, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 1) throw new UsageError(`--${name} must be a whole number of at least 1, got "${raw}"`);
  return value;
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      api: { type: 'string' },
      'api-key': { type: 'string' },
      concurrency: { type: 'string' },
      wait: { type: 'boolean', default: false },
      'wait-timeout': { type: 'string' },
      json: { type: 'boolean', default: false },
      status: { type: 'string' },
      q: { type: 'string' },
      limit: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [command, ...rest] = positionals;
  if (values.help || command === undefined || command === 'help') {
    process.stdout.write(USAGE);
    return command === undefined && !values.help ? 2 : 0;
  }
  const env = loadCliConfig(process.env);
  const apiUrl = values.api ?? env.apiUrl ?? DEFAULT_API;
  if (!/^https?:\/\/[^/\s]+/.test(apiUrl)) throw new UsageError(`--api must be an http(s) URL, got "${apiUrl}"`);
  const json = values.json;
  const isTerminal = process.stdout.isTTY === true;
  const note = (message: string): void => {
    process.stderr.write(`${message}\n`);
  };
  const client = createApiClient({
    baseUrl: apiUrl,
    apiKey: values['api-key'] ?? env.apiKey,
    // On stderr, whatever the output: --json keeps stdout to one object per file.
    onRetry: (what, error, delayMs) => note(`retrying ${what} in ${(delayMs / 1000).toFixed(1)} s: ${error.message}`),
  });

  switch (command) {
    case 'upload': {
      if (rest.length === 0) throw new UsageError('upload needs at least one file or folder');
      const walk = await collectFiles(rest);
      for (const missing of walk.missing) note(`not a file or folder: ${missing}`);
      const waited = values.wait;
      const reporter = json ? jsonReporter(process.stdout) : isTerminal ? barReporter(process.stdout, waited) : lineReporter(process.stdout);
      const started = Date.now();
      const results = await runUpload(
        client,
        walk.files,
        {
          concurrency: positiveInteger(values.concurrency, 'concurrency', 4),
          wait: waited,
          waitTimeoutMs: positiveInteger(values['wait-timeout'], 'wait-timeout', 600) * 1000,
          pollIntervalMs: 500,
        },
        reporter,
      );
      if (!json) process.stdout.write(summary(results, waited, Date.now() - started));
      return walk.missing.length === 0 && results.every((result) => endedWell(result, waited)) ? 0 : 1;
    }
    case 'stats': {
      const stats = await client.getStats();
      process.stdout.write(json ? `${JSON.stringify(stats)}\n` : statsTable({ ...stats }));
      return 0;
    }
    case 'list': {
      const limit = positiveInteger(values.limit, 'limit', 50);
      const items = [];
      let cursor: string | null = null;
      do {
        const page: Awaited<ReturnType<typeof client.listImages>> = await client.listImages({
          limit: Math.min(limit - items.length, 1000),
          ...(values.status === undefined ? {} : { status: values.status }),
          ...(values.q === undefined ? {} : { q: values.q }),
          ...(cursor === null ? {} : { cursor }),
        });
        items.push(...page.items);
        cursor = page.next;
      } while (cursor !== null && items.length < limit);
      if (json) for (const item of items) process.stdout.write(`${JSON.stringify(item)}\n`);
      else process.stdout.write(items.length === 0 ? 'no images\n' : imagesTable(items));
      return 0;
    }
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

// A reader that stops early (`| head`) closes the pipe: that ends the output, not the program with a stack trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  process.exit(process.exitCode ?? 0);
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof UsageError || (error as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      process.stderr.write(`${(error as Error).message}\n\n${USAGE}`);
    } else {
      process.stderr.write(`imageprocessingapi: ${(error as Error).message}\n`);
    }
    process.exitCode = 2;
  },
);
