/**
 * An HTTP proxy in front of a real dependency (stripe-mock) that answers the next N requests with a
 * 500, or holds them past the client's timeout, so tests can put a real outage in the path.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FaultProxy {
  url: string;
  /** the next `n` requests get HTTP `status` with a Stripe-shaped error body */
  failNext(n: number, status?: number): void;
  requests: number;
  failed: number;
  close(): Promise<void>;
}

export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const upstream = new URL(target);
  let toFail = 0;
  let failStatus = 500;
  const proxy: FaultProxy = {
    url: '',
    requests: 0,
    failed: 0,
    failNext(n, status = 500) {
      toFail = n;
      failStatus = status;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server = http.createServer((req, res) => {
    proxy.requests += 1;
    if (toFail > 0) {
      toFail -= 1;
      proxy.failed += 1;
      req.resume();
      res.writeHead(failStatus, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { type: 'api_error', message: 'injected outage' } }));
      return;
    }
    const forward = http.request(
      { host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    forward.on('error', () => {
      res.writeHead(502);
      res.end();
    });
    req.pipe(forward);
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return proxy;
}
