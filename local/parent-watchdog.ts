// Preloaded (`node --import`) into the serverless offline process that the
// local stacks start (and into a test's or bench's local/start.ts). serverless
// offline cannot know that the process which started it died without a word (SIGKILL, a closed terminal, a crash before
// its stop code ran), and it would then keep ports 8000 and 3002 and serve old
// code until someone finds and kills it. The parent hands it one end of a pipe
// as an extra file descriptor; the kernel closes the parent's end whenever the
// parent ends, however it ends, so end-of-file here means "you are an orphan".
// The Lambda workers are threads of this process and esbuild's service exits
// when its stdin closes, so exiting here frees everything.
import { Socket } from 'node:net';
import { isMainThread } from 'node:worker_threads';

const fd = Number(process.env.STACK_LIFELINE_FD);

// Worker threads inherit the --import: only the process itself holds the pipe.
if (isMainThread && Number.isInteger(fd) && fd > 2) {
  const lifeline = new Socket({ fd, readable: true, writable: false });
  const orphaned = (): void => {
    process.stderr.write('[stack] the process that started this one is gone; exiting\n');
    process.exit(0);
  };
  lifeline.on('end', orphaned);
  lifeline.on('close', orphaned);
  lifeline.on('error', orphaned);
  lifeline.resume();
  // Only the servers should keep this process alive, never the watchdog.
  lifeline.unref();
}
