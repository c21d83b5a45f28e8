// The two kinds of work a record of the processor does, each with a bound of
// its own. Decoding, resizing and encoding keep a core busy: more of them at
// once than there are cores only adds memory. A caption call only waits on
// the network: it must not hold one of those few places while it waits, or a
// slow caption service leaves the cores idle. Records of a batch run
// concurrently (lib/process-batch.ts) and take a slot for each kind of work
// as they reach it.
import pLimit from 'p-limit';

export interface WorkSlots {
  /** Decode, resize, encode (and the EXIF read beside them): at most as many at once as cores. */
  image<T>(work: () => Promise<T>): Promise<T>;
  /** A caption call: its own, higher bound, on the load put on the caption service. */
  caption<T>(work: () => Promise<T>): Promise<T>;
}

export function createWorkSlots(bounds: { image: number; caption: number }): WorkSlots {
  const image = pLimit(bounds.image);
  const caption = pLimit(bounds.caption);
  return {
    image: (work) => image(work),
    caption: (work) => caption(work),
  };
}

/** No bound on either: what the pipeline uses when given no slots (one image at a time in tests and scripts). */
export const UNBOUNDED_SLOTS: WorkSlots = {
  image: (work) => work(),
  caption: (work) => work(),
};
