// Child process of package.test.ts: imports one unzipped Lambda bundle the way
// the Node.js runtime does (a fresh process, the function's environment) and
// reports what it exports, or the error its cold start raised.
import { pathToFileURL } from 'node:url';

const file = process.argv[2];
if (!file) throw new Error('usage: load-bundle.ts <bundle.mjs>');
const started = performance.now();
try {
  const loaded = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  const report = {
    ok: true,
    exports: Object.keys(loaded).sort(),
    handler: typeof loaded.handler,
    importMs: Math.round(performance.now() - started),
    rssMb: Math.round(process.memoryUsage().rss / 1048576),
  };
  process.stdout.write(`\n@@report ${JSON.stringify(report)}\n`);
} catch (error) {
  const err = error instanceof Error ? { name: error.name, message: error.message } : { name: 'unknown', message: String(error) };
  process.stdout.write(`\n@@report ${JSON.stringify({ ok: false, error: err })}\n`);
}
