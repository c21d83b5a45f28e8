// Small statistics and Markdown tables: every bench prints its figures the
// same way, so `npm run bench` output can be pasted into RESULTS.md.

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

/** Nearest-rank percentile (p in 0..100); NaN for no values. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = values.toSorted((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] ?? Number.NaN;
}

export function sum(values: readonly number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

/** A number for a table: fixed digits, or "n/a" for a missing value. */
export function fmt(value: number | null | undefined, digits = 1): string {
  return value === null || value === undefined || !Number.isFinite(value) ? 'n/a' : value.toFixed(digits);
}

export function ratio(numerator: number | null | undefined, denominator: number | null | undefined, digits = 2): string {
  if (numerator == null || denominator == null || !Number.isFinite(numerator) || !Number.isFinite(denominator) || denominator === 0) return 'n/a';
  return `${(numerator / denominator).toFixed(digits)}×`;
}

export function table(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const line = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n');
}

/** Writes a section to stdout: a heading, optional notes, tables. */
export function printSection(title: string, ...blocks: string[]): void {
  process.stdout.write(`\n### ${title}\n\n${blocks.filter((block) => block !== '').join('\n\n')}\n`);
}

/** Progress goes to stderr so stdout stays the report. */
export function progress(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

/** A verdict cell for a target. */
export function verdict(met: boolean | null): string {
  return met === null ? 'n/a' : met ? 'met' : '**not met**';
}
