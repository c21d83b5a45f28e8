// The measurements of bench/cost.ts, each in a process of its own so that a
// peak RSS is that case's alone (as in bench/memory-child.ts):
//   node bench/support/cost-child.ts prepare    makes the synthetic photos first, so
//                                               that making them counts in no peak
//   node bench/support/cost-child.ts cpu        CPU ms and wall ms per image: the
//                                               test photos, a 12 MP phone photo and
//                                               a 12 MP PNG, one at a time
//   node bench/support/cost-child.ts batch <photos|jpeg24> <image slots>
//                                               peak RSS of a processor batch: ten
//                                               records in flight, each holding its
//                                               original, image work within the slots
// Prints one JSON line.
import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { createWorkSlots } from '../../lib/work-slots.ts';
import { processOnce, realPhotos } from './photos.ts';
import { SYNTHETIC, syntheticImage } from './synthetic-images.ts';

const BATCH = 10;

function cpuMs(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1000;
}

async function measure(bytes: Buffer, repeats: number): Promise<{ cpuMs: number; wallMs: number }> {
  await processOnce(bytes);
  const cpu: number[] = [];
  const wall: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const start = process.cpuUsage();
    const started = performance.now();
    await processOnce(bytes);
    wall.push(performance.now() - started);
    cpu.push(cpuMs(start));
  }
  const median = (values: number[]): number => values.toSorted((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;
  return { cpuMs: median(cpu), wallMs: median(wall) };
}

const [mode, set, slots] = process.argv.slice(2);
if (mode === 'prepare') {
  for (const spec of [SYNTHETIC.jpeg12, SYNTHETIC.jpeg24, SYNTHETIC.png12]) await syntheticImage(spec);
  process.stdout.write('{}\n');
} else if (mode === 'cpu') {
  const photos = await realPhotos();
  const perPhoto = [];
  for (const photo of photos) perPhoto.push({ name: photo.name, bytes: photo.bytes.length, ...(await measure(photo.bytes, 5)) });
  const phone = await readFile(await syntheticImage(SYNTHETIC.jpeg12));
  // A PNG decodes in full, at a cost in proportion to its pixels: the most expensive kind of image per pixel.
  const png = await readFile(await syntheticImage(SYNTHETIC.png12));
  process.stdout.write(
    `${JSON.stringify({
      photos: perPhoto,
      phone: { name: SYNTHETIC.jpeg12.label, bytes: phone.length, ...(await measure(phone, 5)) },
      png: { name: SYNTHETIC.png12.label, megapixels: (SYNTHETIC.png12.width * SYNTHETIC.png12.height) / 1e6, ...(await measure(png, 3)) },
    })}\n`,
  );
} else if (mode === 'batch' && (set === 'photos' || set === 'jpeg24') && slots) {
  const originals =
    set === 'photos'
      ? (await realPhotos()).map((photo) => photo.bytes)
      : Array.from({ length: BATCH }, () => undefined).map(() => null as Buffer | null);
  const jpeg24 = set === 'jpeg24' ? await readFile(await syntheticImage(SYNTHETIC.jpeg24)) : null;
  const work = createWorkSlots({ image: Number(slots), caption: BATCH });
  const before = process.resourceUsage().maxRSS;
  const started = performance.now();
  const cpu = process.cpuUsage();
  // Batches of ten, as the event source delivers them; every record of a batch holds its own copy of its original.
  for (let offset = 0; offset < originals.length; offset += BATCH) {
    const batch = originals.slice(offset, offset + BATCH).map((bytes) => Buffer.from(bytes ?? jpeg24 ?? Buffer.alloc(0)));
    await Promise.all(batch.map((bytes) => work.image(() => processOnce(bytes))));
  }
  process.stdout.write(
    `${JSON.stringify({ images: originals.length, beforeKiB: before, peakKiB: process.resourceUsage().maxRSS, cpuMs: cpuMs(cpu), wallMs: performance.now() - started })}\n`,
  );
} else {
  throw new Error('usage: cost-child.ts prepare | cpu | batch <photos|jpeg24> <image slots>');
}
