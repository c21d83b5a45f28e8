// A stand-in for a Hugging Face Inference Endpoint serving an image-to-text
// model: POST raw image bytes to any path, get `{"generated_text": "..."}`.
// Tests steer it with setBehaviour; run directly it serves captions by hand:
//   npm exec -- node test/support/fake-caption-server.ts   (PORT, default 5005)
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type Behaviour =
  | { kind: 'caption'; text: string; delayMs?: number }
  | { kind: 'status'; status: number; body?: unknown }
  | { kind: 'hang' }
  | { kind: 'array'; text: string };

export interface RecordedRequest {
  path: string;
  contentType: string | undefined;
  bytes: number;
  authorization: string | undefined;
}

export interface FakeCaptionServerOptions {
  /** Caption for every request; by default "a photo of <N> bytes". */
  text?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  onRequest?: (request: RecordedRequest) => void;
}

export interface FakeCaptionServer {
  url: string;
  requests: RecordedRequest[];
  setBehaviour(behaviour: Behaviour): void;
  close(): Promise<void>;
}

export async function startFakeCaptionServer(options: FakeCaptionServerOptions = {}): Promise<FakeCaptionServer> {
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let behaviour: Behaviour | undefined;

  const server = createServer((req, res) => {
    void handle(req, res).catch(() => res.destroy());
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Read to the end before answering, as a real endpoint does: answering early
    // can reset the connection while the client is still sending.
    let bytes = 0;
    for await (const chunk of req) bytes += (chunk as Buffer).length;

    if (req.method !== 'POST') {
      sendJson(res, 405, { error: 'Method not allowed' });
      return;
    }
    const recorded: RecordedRequest = {
      path: req.url ?? '/',
      contentType: req.headers['content-type'],
      bytes,
      authorization: req.headers.authorization,
    };
    requests.push(recorded);
    options.onRequest?.(recorded);

    const current = behaviour ?? { kind: 'caption', text: options.text ?? `a photo of ${bytes} bytes` };
    switch (current.kind) {
      case 'caption': {
        const answer = (): void => sendJson(res, 200, { generated_text: current.text });
        if (!current.delayMs) {
          answer();
          return;
        }
        const timer = setTimeout(() => {
          timers.delete(timer);
          answer();
        }, current.delayMs);
        timers.add(timer);
        return;
      }
      case 'array':
        sendJson(res, 200, [{ generated_text: current.text }]);
        return;
      case 'status':
        sendStatus(res, current.status, current.body);
        return;
      case 'hang':
        // Never answer; close() destroys the socket.
        return;
    }
  }

  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    setBehaviour(next: Behaviour): void {
      behaviour = next;
    },
    async close(): Promise<void> {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // server.close() waits for open connections: a hanging request or a client's
      // keep-alive socket would keep the test process alive.
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
  res.end(payload);
}

/** Strings go out as text/plain (as some proxies answer), anything else as JSON. */
function sendStatus(res: ServerResponse, status: number, body: unknown): void {
  if (typeof body === 'string') {
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    res.end(body);
    return;
  }
  sendJson(res, status, body ?? { error: `fake caption server answered ${status}` });
}

if (import.meta.main) {
  const port = Number(process.env.PORT ?? 5005);
  const server = await startFakeCaptionServer({
    port,
    onRequest: (r) => console.log(`POST ${r.path} ${r.bytes} bytes (${r.contentType ?? 'no content type'})`),
  });
  console.log(`fake caption server listening on ${server.url}`);
  const stop = (): void => {
    void server.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
