// Loaded into local/start.ts (node --import) by the lifecycle tests to make it
// fail at a chosen moment: a start-up error after serverless offline was
// spawned, or an uncaught exception once the stack is ready. The real stack
// cannot produce either on demand. STACK_FAULT chooses which.
const fault = process.env.STACK_FAULT;
const write = process.stdout.write.bind(process.stdout);

process.stdout.write = ((chunk: string | Uint8Array, ...rest: never[]): boolean => {
  const written = write(chunk, ...rest);
  const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
  if (fault === 'throw-after-spawn' && text.includes('serverless offline started')) {
    // Thrown inside start.ts's own start-up code, so it ends in its error path.
    throw new Error('injected start-up failure');
  }
  if (fault === 'uncaught-after-ready' && text.includes('[stack] ready in')) {
    setImmediate(() => {
      throw new Error('injected uncaught exception');
    });
  }
  return written;
}) as typeof process.stdout.write;
