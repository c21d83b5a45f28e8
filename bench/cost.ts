// Benchmark 6: what 1,000 images cost on AWS. Measures the processing's CPU
// time per image on the benchmark set (the test photos the end-to-end bench
// uploads; a 12 MP phone photo beside it) and the peak memory of a processor
// batch, then turns them into Lambda GB-seconds and dollars per 1,000 images
// for x86_64 and arm64 at each memory size that holds the worst batch, with
// the queue's and the bucket's requests; beside that, what a hosted image
// service charges for the same thumbnails. Recommends the processor's memory.
//   npm run bench:cost
// Knobs: BENCH_CAPTION_MS (1000), the caption service's answer time assumed
// for the captions-on columns.
//
// The model, per batch of ten records (the event source's batch size):
//   duration = CPU of the batch / the cores the batch can use + the waits
//   cores    = memory / 1,769 MB (Lambda's CPU share), at most the two image
//              slots the processor uses (lib/work-slots.ts)
//   waits    = ASSUMED.ioWaitMsPerBatch (the S3 and database round trips that
//              do not overlap CPU) + the caption time when captions are on
//              (the records of a batch wait for theirs side by side)
// CPU per image = measured image work + ASSUMED.overheadCpuMsPerImage (SDK
// signing, database client, JSON, logs: not measured here). The CPU times are
// this machine's; a Lambda vCPU, x86_64 or arm64, is taken as equal to one of
// its cores (not measured: check with a deployed stage).
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { RESOURCES } from '../local/resources.ts';
import { MAX_INPUT_PIXELS } from './support/photos.ts';
import { fmt, median, printSection, progress, table } from './support/report.ts';

const CHILD = resolve(import.meta.dirname, 'support/cost-child.ts');
const BATCH = 10;
const IMAGES = 1000;
/** One vCPU's worth of memory (Lambda allocates CPU in proportion to memory). */
const MB_PER_VCPU = 1769;
/** Image slots of the processor on Lambda: os.availableParallelism() there reports 2 at these sizes. */
const IMAGE_SLOTS = 2;
const MEMORY_SIZES_MB = [512, 768, 1024, 1536, 1769, 2048, 3008];
const CAPTION_MS = Number(process.env.BENCH_CAPTION_MS ?? 1000);
/** The largest original: a direct upload (MAX_DIRECT_UPLOAD_BYTES, serverless.yml). */
const MAX_ORIGINAL_MB = 50;
/** A caption call gives up after this long (CAPTION_TIMEOUT_MS, serverless.yml). */
const CAPTION_TIMEOUT_MS = 15_000;
/** Memory kept free above the worst batch's peak, and time kept free within the processor's timeout. */
const HEADROOM = 1.2;

/** Not measured here; stated so the figures can be redone with better ones. */
const ASSUMED = { ioWaitMsPerBatch: 150, overheadCpuMsPerImage: 3 };

/**
 * Published prices, US East (N. Virginia), pay as you go, free tiers left
 * out, as the author last knew them (2024). This script runs without network:
 * check them at the sources before relying on the figures.
 */
const PRICES = {
  asOf: '2024 (check at the sources)',
  lambda: {
    source: 'https://aws.amazon.com/lambda/pricing/',
    /** Per GB-second, the first tier (6 billion GB-s a month on x86_64, 7.5 billion on arm64). */
    gbSecond: { x86_64: 0.0000166667, arm64: 0.0000133334 },
    perMillionRequests: 0.2,
  },
  sqs: { source: 'https://aws.amazon.com/sqs/pricing/', perMillionRequests: 0.4 },
  s3: { source: 'https://aws.amazon.com/s3/pricing/', perThousandPut: 0.005, perThousandGet: 0.0004 },
  cloudflareImages: {
    source: 'https://developers.cloudflare.com/images/pricing/',
    /** Images stored outside Cloudflare, transformed on request: per unique transformation a month, after 5,000 free. */
    perThousandTransformations: 0.5,
  },
  cloudinary: {
    source: 'https://cloudinary.com/pricing',
    /** Plus plan: $89 a month for 225 credits; one credit is 1,000 transformations (or 1 GB stored, or 1 GB delivered). */
    planPerMonth: 89,
    credits: 225,
    transformationsPerCredit: 1000,
  },
};

/** Requests per image: the upload's and the processor's, the processor invoked once per batch. */
const REQUESTS = {
  lambda: 1 + 1 / BATCH, // the upload function, the processor
  sqs: 1 + 2 / BATCH, // SendMessage; a ReceiveMessage and a DeleteMessageBatch per batch
  s3Put: 3, // the original, two thumbnails
  s3Get: 1, // the original, read by the processor
};
/** Thumbnails per image (lib/images/thumbnail-sizes.ts): what a hosted service would transform. */
const TRANSFORMATIONS_PER_IMAGE = 2;

interface CpuReport {
  photos: Array<{ name: string; bytes: number; cpuMs: number; wallMs: number }>;
  phone: { name: string; bytes: number; cpuMs: number; wallMs: number };
  png: { name: string; megapixels: number; cpuMs: number; wallMs: number };
}

interface BatchReport {
  images: number;
  beforeKiB: number;
  peakKiB: number;
  cpuMs: number;
  wallMs: number;
}

function child<T>(args: string[]): T {
  const out = execFileSync(process.execPath, [CHILD, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 600_000 });
  return JSON.parse(out.trim().split('\n').pop() ?? '{}') as T;
}

type Arch = keyof typeof PRICES.lambda.gbSecond;
const ARCHES: Arch[] = ['x86_64', 'arm64'];

interface Row {
  memoryMb: number;
  cores: number;
  batchMs: { off: number; on: number };
  gbSeconds: { off: number; on: number };
  dollars: Record<Arch, { off: number; on: number }>;
}

function costRows(cpuMsPerImage: number, fixedDollars: number, sizes: number[]): Row[] {
  return sizes.map((memoryMb) => {
    const cores = Math.min(memoryMb / MB_PER_VCPU, IMAGE_SLOTS);
    const cpuPart = (BATCH * cpuMsPerImage) / cores;
    const batchMs = { off: cpuPart + ASSUMED.ioWaitMsPerBatch, on: cpuPart + ASSUMED.ioWaitMsPerBatch + CAPTION_MS };
    const gb = memoryMb / 1024;
    const gbSeconds = { off: (IMAGES / BATCH) * (Math.ceil(batchMs.off) / 1000) * gb, on: (IMAGES / BATCH) * (Math.ceil(batchMs.on) / 1000) * gb };
    const dollars = Object.fromEntries(
      ARCHES.map((arch) => [arch, { off: gbSeconds.off * PRICES.lambda.gbSecond[arch] + fixedDollars, on: gbSeconds.on * PRICES.lambda.gbSecond[arch] + fixedDollars }]),
    ) as Record<Arch, { off: number; on: number }>;
    return { memoryMb, cores, batchMs, gbSeconds, dollars };
  });
}

function main(): void {
  child(['prepare']);
  progress('cost: CPU per image (the test photos, a 12 MP phone photo), one at a time');
  const cpu = child<CpuReport>(['cpu']);
  progress('cost: peak memory of a batch of the test photos, then of ten 24 MP JPEGs');
  const photosBatch = child<BatchReport>(['batch', 'photos', String(IMAGE_SLOTS)]);
  const largeBatch = child<BatchReport>(['batch', 'jpeg24', String(IMAGE_SLOTS)]);

  const meanCpu = cpu.photos.reduce((sum, p) => sum + p.cpuMs, 0) / cpu.photos.length;
  const meanBytes = cpu.photos.reduce((sum, p) => sum + p.bytes, 0) / cpu.photos.length;
  const mib = (kib: number): number => kib / 1024;
  // Ten 24 MP JPEGs of 8 MB; a batch of ten largest direct uploads holds 42 MB more per record.
  const largeOriginalMb = 8.2;
  const worstBatchMb = mib(largeBatch.peakKiB) * 1.048576 + BATCH * (MAX_ORIGINAL_MB - largeOriginalMb);
  const minimumMb = worstBatchMb * HEADROOM;
  // The slowest batch: ten PNGs of MAX_INPUT_PIXELS, their cost scaled from the 12 MP one, then the caption timeout.
  const worstImageCpuMs = (cpu.png.cpuMs * (MAX_INPUT_PIXELS / 1e6)) / cpu.png.megapixels;
  const slowestBatchSeconds = (memoryMb: number): number =>
    (BATCH * worstImageCpuMs) / Math.min(memoryMb / MB_PER_VCPU, IMAGE_SLOTS) / 1000 + (ASSUMED.ioWaitMsPerBatch + CAPTION_TIMEOUT_MS) / 1000;
  const fitsTimeout = (memoryMb: number): boolean => slowestBatchSeconds(memoryMb) * HEADROOM <= RESOURCES.processorTimeoutSeconds;
  const sensible = MEMORY_SIZES_MB.filter((size) => size >= minimumMb && fitsTimeout(size));
  const excluded = MEMORY_SIZES_MB.filter((size) => !sensible.includes(size)).map(
    (size) => `${size} MB (${size < minimumMb ? 'memory' : ''}${size < minimumMb && !fitsTimeout(size) ? ', ' : ''}${fitsTimeout(size) ? '' : `slowest batch ${fmt(slowestBatchSeconds(size), 0)} s`})`,
  );

  const fixed = {
    lambdaRequests: (IMAGES * REQUESTS.lambda * PRICES.lambda.perMillionRequests) / 1e6,
    sqs: (IMAGES * REQUESTS.sqs * PRICES.sqs.perMillionRequests) / 1e6,
    s3: (IMAGES * REQUESTS.s3Put * PRICES.s3.perThousandPut) / 1000 + (IMAGES * REQUESTS.s3Get * PRICES.s3.perThousandGet) / 1000,
  };
  const fixedDollars = fixed.lambdaRequests + fixed.sqs + fixed.s3;
  const sets = [
    { label: `the test photos (mean ${(meanBytes / 1e6).toFixed(2)} MB, ${fmt(meanCpu)} ms CPU each)`, cpuMs: meanCpu + ASSUMED.overheadCpuMsPerImage },
    { label: `12 MP phone photos (${(cpu.phone.bytes / 1e6).toFixed(1)} MB, ${fmt(cpu.phone.cpuMs)} ms CPU each)`, cpuMs: cpu.phone.cpuMs + ASSUMED.overheadCpuMsPerImage },
  ];
  const tables: string[] = [];
  let recommendation = '';
  for (const [index, set] of sets.entries()) {
    const rows = costRows(set.cpuMs, fixedDollars, sensible);
    tables.push(
      `**Per 1,000 images: ${set.label}**`,
      table(
        ['memory MB', 'vCPU', 'batch s, captions off', 'GB-s, captions off', 'x86_64 $, off', 'arm64 $, off', `batch s, captions ${CAPTION_MS / 1000} s`, 'GB-s, captions on', 'x86_64 $, on', 'arm64 $, on'],
        rows.map((r) => [
          String(r.memoryMb),
          fmt(r.memoryMb / MB_PER_VCPU, 2),
          fmt(r.batchMs.off / 1000, 2),
          fmt(r.gbSeconds.off, 1),
          fmt(r.dollars.x86_64.off, 4),
          fmt(r.dollars.arm64.off, 4),
          fmt(r.batchMs.on / 1000, 2),
          fmt(r.gbSeconds.on, 1),
          fmt(r.dollars.x86_64.on, 4),
          fmt(r.dollars.arm64.on, 4),
        ]),
      ),
    );
    if (index === 0 && rows.length > 0) {
      const cheapest = rows.reduce((a, b) => (b.dollars.arm64.on < a.dollars.arm64.on ? b : a));
      const x86 = rows.find((r) => r.memoryMb === cheapest.memoryMb)?.dollars.x86_64;
      const at1769 = rows.find((r) => r.memoryMb === MB_PER_VCPU);
      recommendation =
        `**Recommendation: ${cheapest.memoryMb} MB on arm64** for the processor: the smallest size that holds the largest batch and ends the slowest within the timeout, with ${Math.round((HEADROOM - 1) * 100)}% to spare, and so the cheapest: ` +
        `$${fmt(cheapest.dollars.arm64.off, 4)} per 1,000 test photos with captions off, $${fmt(cheapest.dollars.arm64.on, 4)} with captions on ` +
        `(x86_64: $${fmt(x86?.off, 4)} / $${fmt(x86?.on, 4)}` +
        `${at1769 ? `; at ${MB_PER_VCPU} MB arm64: $${fmt(at1769.dollars.arm64.off, 4)} / $${fmt(at1769.dollars.arm64.on, 4)}` : ''}). ` +
        'The CPU part costs the same at every size (half the memory, twice the time); the waits, for S3, the database and above all the caption, are billed by the MB and are cheapest at the smallest size. ' +
        `A batch of test photos then takes ${fmt(cheapest.batchMs.off / 1000, 2)} s (captions off), the slowest batch ${fmt(slowestBatchSeconds(cheapest.memoryMb), 0)} s of the ${RESOURCES.processorTimeoutSeconds} s timeout.`;
    }
  }
  const hosted = {
    cloudflare: (IMAGES * TRANSFORMATIONS_PER_IMAGE * PRICES.cloudflareImages.perThousandTransformations) / 1000,
    cloudinary: ((IMAGES * TRANSFORMATIONS_PER_IMAGE) / PRICES.cloudinary.transformationsPerCredit) * (PRICES.cloudinary.planPerMonth / PRICES.cloudinary.credits),
  };

  printSection(
    'Cost per 1,000 images on AWS',
    `CPU per image: the processing (decode, both thumbnails, EXIF), each photo 5 times after a warm-up in a fresh process, median per photo; mean over the ${cpu.photos.length} test photos ${fmt(meanCpu)} ms (median photo ${fmt(median(cpu.photos.map((p) => p.cpuMs)))} ms), ` +
      `the ${cpu.phone.name} ${fmt(cpu.phone.cpuMs)} ms. Peak memory of a processor batch (ten records in flight, each holding its original, ${IMAGE_SLOTS} image slots), fresh process each: ` +
      `the test photos ${fmt(mib(photosBatch.peakKiB), 0)} MiB, ten 24 MP JPEGs (8 MB each) ${fmt(mib(largeBatch.peakKiB), 0)} MiB. ` +
      `The largest batch, ten direct uploads of ${MAX_ORIGINAL_MB} MB, holds ${BATCH} x ${fmt(MAX_ORIGINAL_MB - largeOriginalMb)} MB more: about ${fmt(worstBatchMb, 0)} MB, so a size needs ${fmt(minimumMb, 0)} MB (${Math.round((HEADROOM - 1) * 100)}% headroom). ` +
      `The slowest batch, ten PNGs of ${MAX_INPUT_PIXELS / 1e6} MP (the MAX_INPUT_PIXELS limit; ${fmt(worstImageCpuMs / 1000, 1)} s of CPU each, scaled from the ${cpu.png.name} at ${fmt(cpu.png.cpuMs, 0)} ms) and a caption that runs into its ${CAPTION_TIMEOUT_MS / 1000} s timeout, must end within the processor's ${RESOURCES.processorTimeoutSeconds} s timeout with the same headroom. ` +
      `Sizes left out: ${excluded.length > 0 ? excluded.join(', ') : 'none'}.`,
    `Model (bench/cost.ts): a batch of ${BATCH} takes its CPU time divided by the cores it can use (memory / ${MB_PER_VCPU} MB, at most ${IMAGE_SLOTS}) plus ${ASSUMED.ioWaitMsPerBatch} ms of S3 and database waits, plus the caption time (assumed ${CAPTION_MS} ms; the batch's captions wait side by side) with captions on; ` +
      `${ASSUMED.overheadCpuMsPerImage} ms of CPU per image added for the SDK, the database client and logging. Assumed, not measured: the waits, that overhead, and a Lambda vCPU equal to one core of this machine on both architectures. ` +
      `Dollars include the requests: Lambda ${REQUESTS.lambda} per image (upload, processor per batch) $${fmt(fixed.lambdaRequests, 5)}, SQS ${REQUESTS.sqs} $${fmt(fixed.sqs, 5)}, S3 ${REQUESTS.s3Put} PUT + ${REQUESTS.s3Get} GET $${fmt(fixed.s3, 4)} per 1,000 images; ` +
      'not included: the upload function\'s own duration, API Gateway, storage by the month, transfer out, the caption service, and the event source\'s empty polls of an idle queue (a few hundred thousand SQS requests a month, some $0.25).',
    ...tables,
    recommendation,
    `**A hosted image service for the same 1,000 images (${TRANSFORMATIONS_PER_IMAGE} thumbnails each, no EXIF, no captions):** ` +
      `Cloudflare Images transformations $${fmt(PRICES.cloudflareImages.perThousandTransformations, 2)} per 1,000 unique transformations: $${fmt(hosted.cloudflare, 2)} (${PRICES.cloudflareImages.source}); ` +
      `Cloudinary Plus, $${PRICES.cloudinary.planPerMonth} a month for ${PRICES.cloudinary.credits} credits of ${PRICES.cloudinary.transformationsPerCredit} transformations: $${fmt(hosted.cloudinary, 2)} (${PRICES.cloudinary.source}), the plan's fee due whatever the volume.`,
    `Prices: US East (N. Virginia), pay as you go, free tiers left out, as of ${PRICES.asOf}: Lambda $${PRICES.lambda.gbSecond.x86_64} per GB-s x86_64, $${PRICES.lambda.gbSecond.arm64} arm64, $${PRICES.lambda.perMillionRequests} per million requests (${PRICES.lambda.source}); ` +
      `SQS standard $${PRICES.sqs.perMillionRequests} per million requests (${PRICES.sqs.source}); S3 Standard $${PRICES.s3.perThousandPut} per 1,000 PUT, $${PRICES.s3.perThousandGet} per 1,000 GET (${PRICES.s3.source}).`,
  );
}

main();
