// A small HTTP server on loopback that answers from a script of responses and records every request.
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Recorded {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Runs after each request this reply serves has arrived, before it is answered (something happening meanwhile). */
  before?: () => Promise<unknown>;
}

export interface FakeServer {
  url: string;
  requests: Recorded[];
  /** Replies used in order; the last one repeats. */
  reply(...replies: Reply[]): void;
  close(): Promise<void>;
}

export async function startFakeServer(): Promise<FakeServer> {
  const requests: Recorded[] = [];
  let script: Reply[] = [{ status: 200, body: { ok: true } }];
  let served = 0;
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      requests.push({
        method: request.method ?? '',
        url: request.url ?? '',
        headers: request.headers,
        body: Buffer.concat(chunks).toString(),
      });
      const reply = script[Math.min(served, script.length - 1)]!;
      served += 1;
      const answer = () =>
        response
          .writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers })
          .end(JSON.stringify(reply.body ?? {}));
      // A failing hook still answers, and its error is the test's (unhandled) to see.
      if (reply.before) void Promise.resolve().then(reply.before).finally(answer);
      else answer();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    reply(...replies) {
      script = replies;
      served = 0;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
