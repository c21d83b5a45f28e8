// What the upload run shows: a progress bar with counts, rate and ETA on a
// terminal (cli-progress), one plain line per file when the output is a pipe
// or a file, or one JSON object per file with --json; then a summary table
// (cli-table3).
import cliProgress from 'cli-progress';
import Table from 'cli-table3';
import { endedWell } from './upload-command.ts';
import type { FileResult, UploadReporter } from './upload-command.ts';

type Out = Pick<NodeJS.WriteStream, 'write'>;

const plainTable = (options: ConstructorParameters<typeof Table>[0] = {}): InstanceType<typeof Table> =>
  // No colours: the table is read in terminals, CI logs and files alike.
  new Table({ ...options, style: { head: [], border: [], compact: false } });

/** One line of JSON per file: {"file", "image_id", "status", "error"}. */
export function jsonReporter(out: Out): UploadReporter {
  return {
    start() {},
    done(result) {
      out.write(`${JSON.stringify({ file: result.file, image_id: result.image_id, status: result.status, error: result.error })}\n`);
    },
    note() {},
    stop() {},
  };
}

function describe(result: FileResult): string {
  const what = result.status === 'duplicate' || result.status === 'skipped' || result.status === 'error' ? result.status : result.replayed ? `${result.status} (already uploaded)` : result.status;
  return [what.padEnd(10), result.file, result.image_id ?? ''].filter(Boolean).join(' ') + (result.error ? `: ${result.error}` : '');
}

/** A line per file, for pipes and logs. */
export function lineReporter(out: Out): UploadReporter {
  return {
    start(total) {
      out.write(`${total} file${total === 1 ? '' : 's'}\n`);
    },
    done(result) {
      out.write(`${describe(result)}\n`);
    },
    note(message) {
      out.write(`${message}\n`);
    },
    stop() {},
  };
}

/** The bar on a terminal; files that did not end well are printed above it as they happen. */
export function barReporter(out: NodeJS.WriteStream, waited: boolean): UploadReporter {
  const bars = new cliProgress.MultiBar(
    {
      stream: out,
      // Fits 80 columns: cli-progress cuts a line at the terminal's width.
      format: ' {bar} {value}/{total} | {rate}/s | ETA {eta_formatted} | {ok} ok, {bad} failed, {skipped} skipped',
      hideCursor: true,
      clearOnComplete: false,
      stopOnComplete: false,
      etaBuffer: 50,
      barsize: 20,
    },
    cliProgress.Presets.shades_classic,
  );
  let bar: cliProgress.SingleBar | undefined;
  const started = Date.now();
  const counts = { ok: 0, bad: 0, skipped: 0 };
  const payload = (done: number): Record<string, string | number> => ({ ...counts, rate: (done / Math.max(0.001, (Date.now() - started) / 1000)).toFixed(1) });
  let done = 0;
  return {
    start(total) {
      bar = bars.create(total, 0, payload(0));
    },
    done(result) {
      done++;
      if (result.status === 'skipped') counts.skipped++;
      else if (endedWell(result, waited)) counts.ok++;
      else {
        counts.bad++;
        bars.log(`${describe(result)}\n`);
      }
      bar?.increment(1, payload(done));
    },
    note(message) {
      bars.log(`${message}\n`);
    },
    stop() {
      bar?.update(done, payload(done));
      bars.stop();
    },
  };
}

function megabytes(bytes: number): string {
  return `${(bytes / 1_000_000).toFixed(1)} MB`;
}

/** Counts by outcome, the files that did not end well, and the throughput. */
export function summary(results: readonly FileResult[], waited: boolean, elapsedMs: number): string {
  const count = (test: (result: FileResult) => boolean): number => results.filter(test).length;
  const uploaded = results.filter((result) => result.image_id !== null && result.status !== 'duplicate');
  const rows: Array<[string, number]> = [
    ['uploaded', count((r) => r.image_id !== null && r.status !== 'duplicate' && !r.replayed)],
    ['already uploaded (same bytes)', count((r) => r.replayed) + count((r) => r.status === 'duplicate')],
    ['skipped (not JPEG or PNG)', count((r) => r.status === 'skipped')],
    ['not uploaded (error)', count((r) => r.status === 'error')],
  ];
  if (waited) {
    rows.push(['processed: success', count((r) => r.status === 'success')], ['processed: failed', count((r) => r.status === 'failed')]);
    const unfinished = count((r) => r.image_id !== null && r.status !== 'duplicate' && r.status !== 'success' && r.status !== 'failed');
    if (unfinished > 0) rows.push(['still processing', unfinished]);
  }
  const counts = plainTable({ head: ['files', String(results.length)] });
  counts.push(...rows.filter(([, n]) => n > 0).map(([label, n]) => [label, String(n)]));

  const lines = [counts.toString()];
  const bad = results.filter((result) => !endedWell(result, waited));
  if (bad.length > 0) {
    const failures = plainTable({ head: ['file', 'status', 'why'], colWidths: [40, 10, 60], wordWrap: true });
    for (const result of bad.slice(0, 20)) failures.push([result.file, result.status, result.error ?? '']);
    lines.push(failures.toString());
    if (bad.length > 20) lines.push(`... and ${bad.length - 20} more (--json lists every file)`);
  }
  const bytes = uploaded.reduce((sum, result) => sum + result.sizeBytes, 0);
  const seconds = elapsedMs / 1000;
  lines.push(
    `${results.length} files, ${megabytes(bytes)} uploaded in ${seconds.toFixed(1)} s: ${(results.length / Math.max(seconds, 0.001)).toFixed(1)} files/s, ${megabytes(bytes / Math.max(seconds, 0.001))}/s`,
  );
  return `${lines.join('\n')}\n`;
}

export function statsTable(stats: Record<string, number>): string {
  const table = plainTable();
  for (const [name, value] of Object.entries(stats)) table.push({ [name.replaceAll('_', ' ')]: String(value) });
  return `${table.toString()}\n`;
}

export function imagesTable(items: ReadonlyArray<{ image_id: string; status: string; created_at: string; original_name: string }>): string {
  const table = plainTable({ head: ['image_id', 'status', 'created', 'file'] });
  for (const item of items) table.push([item.image_id, item.status, item.created_at.replace('T', ' ').slice(0, 19), item.original_name]);
  return `${table.toString()}\n`;
}
