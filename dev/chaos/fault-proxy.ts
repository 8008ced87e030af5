/**
 * An HTTP proxy in front of a real dependency (Stripe, a chain's JSON-RPC) that injects faults: a
 * share of requests answered with an error status, or held until the client gives up and then
 * dropped, as a dead upstream or a lost response would be. Tests can also fail the next N requests.
 * Counters say what was injected. The proxy never changes a request it forwards.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FaultProxyOptions {
  /** the upstream base URL */
  target: string;
  /** the status an injected error answers with (Stripe: 500; an RPC node: 503) */
  errorStatus?: number;
  /** the body of an injected error; Stripe's SDK wants `{ error: { type, message } }` */
  errorBody?: string;
  /** a number in [0, 1): the proxy's source of randomness (seeded by the chaos run) */
  random?: () => number;
  /** how long a held request waits before its connection is dropped */
  holdMs?: number;
  port?: number;
}

interface FaultCounts {
  requests: number;
  errors: number;
  held: number;
}

export interface FaultProxy {
  url: string;
  /** Fault a share of requests from now on: `rate` in [0, 1], of which `holdShare` are held. */
  setFaultRate(rate: number, holdShare?: number): void;
  /** the next `n` requests get the error status */
  failNext(n: number): void;
  readonly counts: FaultCounts;
  close(): Promise<void>;
}

export async function startFaultProxy(opts: FaultProxyOptions): Promise<FaultProxy> {
  const upstream = new URL(opts.target);
  const random = opts.random ?? Math.random;
  const errorStatus = opts.errorStatus ?? 503;
  const errorBody = opts.errorBody ?? JSON.stringify({ error: { type: 'api_error', message: 'injected outage' } });
  const holdMs = opts.holdMs ?? 20_000;
  const counts: FaultCounts = { requests: 0, errors: 0, held: 0 };
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const held = new Set<http.ServerResponse>();
  let rate = 0;
  let holdShare = 0;
  let failNext = 0;

  const server = http.createServer((req, res) => {
    counts.requests += 1;
    let fault: 'none' | 'error' | 'hold' = 'none';
    if (failNext > 0) {
      failNext -= 1;
      fault = 'error';
    } else {
      const roll = random();
      if (roll < rate) fault = roll < rate * holdShare ? 'hold' : 'error';
    }
    if (fault === 'hold') {
      counts.held += 1;
      req.resume();
      held.add(res);
      setTimeout(() => {
        held.delete(res);
        res.socket?.destroy();
      }, holdMs).unref();
      return;
    }
    if (fault === 'error') {
      counts.errors += 1;
      req.resume();
      res.writeHead(errorStatus, { 'content-type': 'application/json', connection: 'close' });
      res.end(errorBody);
      return;
    }
    const forward = http.request(
      {
        host: upstream.hostname,
        port: upstream.port,
        path: req.url,
        method: req.method,
        headers: { ...req.headers, host: upstream.host },
        agent,
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    forward.on('error', () => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { type: 'api_error', message: 'upstream unreachable' } }));
    });
    req.pipe(forward);
  });
  server.keepAliveTimeout = 1_000;
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    counts,
    setFaultRate(r, share = 0) {
      rate = r;
      holdShare = share;
    },
    failNext(n) {
      failNext = n;
    },
    async close() {
      for (const res of held) res.socket?.destroy();
      held.clear();
      agent.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
