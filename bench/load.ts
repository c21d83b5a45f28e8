// `npm run load`: the long load run of the delivery guarantees. 200 uploads of
// real photos, 20 at a time, through the running stack while processing runs;
// then an account of every upload: how it was answered, how it ended, whether
// any was lost. Options: LOAD_UPLOADS, LOAD_CONCURRENCY.
import { runLoad } from '../test/support/load-run.ts';
import { realPhotos } from './support/photos.ts';
import { printSection, table } from './support/report.ts';
import { withStack } from './support/stack-session.ts';

const uploads = Number(process.env.LOAD_UPLOADS ?? 200);
const concurrency = Number(process.env.LOAD_CONCURRENCY ?? 20);

const photos = await realPhotos();
if (photos.length === 0) throw new Error('no test photos to upload (test/fixtures/images)');

const report = await withStack({ HF_TOKEN: '', CAPTION_ENDPOINT_URL: '' }, ({ stack }) =>
  runLoad({ apiUrl: stack.apiUrl, files: photos, uploads, concurrency, settleTimeoutMs: 600_000, pids: stack.pids() }),
);

printSection(
  `Load: ${uploads} uploads of ${photos.length} real photos at concurrency ${concurrency}`,
  table(
    ['answers', 'accepted', 'success', 'failed', 'lost', 'unexpected 5xx', 'upload p50 / p99 ms', 'all terminal after', 'peak RSS (stack)', 'stats total / success / failed'],
    [
      [
        Object.entries(report.answers).map(([status, count]) => `${count}× ${status}`).join(', '),
        String(report.accepted),
        String(report.success),
        String(report.failed),
        String(report.lost),
        String(report.unexpected5xx),
        `${report.uploadLatencyMs.p50} / ${report.uploadLatencyMs.p99}`,
        `${(report.elapsedMs / 1000).toFixed(1)} s`,
        `${report.peakRssMiB} MiB`,
        `${report.stats.total} / ${report.stats.success} / ${report.stats.failed}`,
      ],
    ],
  ),
);
if (report.lost > 0 || report.unexpected5xx > 0 || report.stats.total !== report.success + report.failed) process.exitCode = 1;
