// The common half of the fake provider APIs: a loopback HTTP server that records every request and, on demand,
// fails, hangs (so the client times out), rate-limits, or fails a random share of requests.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface FakeRequest {
  method: string;
  /** Path and query. */
  url: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

export interface FakeAnswer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface Failure extends FakeAnswer {
  /** Hang instead of answering. */
  hang?: boolean;
  /** Perform the request first (the provider did it), then fail or hang: the client never learns it succeeded. */
  afterEffect?: boolean;
}

/** The provider-specific half: answers a request that passed the failure modes. */
export type Responder = (request: FakeRequest) => FakeAnswer;

export interface FakeApi {
  url: string;
  requests: FakeRequest[];
  /** The next `count` requests fail with `failure`. */
  failNext(count: number, failure: Failure): void;
  /** Every request fails with `failure` until `recover()`. */
  outage(failure: Failure): void;
  recover(): void;
  /** Requests hang (no answer) until `recover()`. */
  hang(): void;
  /** A share of requests (0..1) fails with `failure`, chosen at random. */
  failRandomly(share: number, failure: Failure): void;
  close(): Promise<void>;
}

export async function startFakeApi(responder: Responder): Promise<FakeApi> {
  const requests: FakeRequest[] = [];
  let queued: { count: number; failure: Failure } | undefined;
  let steady: Failure | undefined;
  let random: { share: number; failure: Failure } | undefined;
  const sockets = new Set<Socket>();

  const failureFor = (): Failure | undefined => {
    if (steady) return steady;
    if (queued && queued.count > 0) {
      queued.count -= 1;
      return queued.failure;
    }
    if (random && Math.random() < random.share) return random.failure;
    return undefined;
  };

  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const url = request.url ?? '/';
      const recorded: FakeRequest = {
        method: request.method ?? '',
        url,
        path: url.split('?')[0]!,
        headers: request.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: Date.now(),
      };
      requests.push(recorded);
      const failure = failureFor();
      if (failure?.afterEffect) responder(recorded);
      if (failure?.hang) return; // never answers; the socket is destroyed on close
      const answer = failure ?? responder(recorded);
      const text = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body ?? {});
      response.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers }).end(text);
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    failNext(count, failure) {
      queued = { count, failure };
    },
    outage(failure) {
      steady = failure;
    },
    recover() {
      steady = undefined;
      queued = undefined;
      random = undefined;
    },
    hang() {
      steady = { status: 0, hang: true };
    },
    failRandomly(share, failure) {
      random = { share, failure };
    },
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A form-encoded body as an object (repeated keys keep the last value). */
export const formOf = (body: string) => Object.fromEntries(new URLSearchParams(body));

export const bearerOf = (headers: IncomingHttpHeaders) =>
  /^Bearer (.+)$/.exec(String(headers.authorization ?? ''))?.[1];
