import net from 'node:net';

export async function waitForPort(port: number, host = '127.0.0.1', timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ port, host });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listening on ${host}:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

const canListen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });

/** A free port whose next one is free too: Solana's JSON-RPC and, one up, its WebSocket (web3.js's default). */
export async function freePortPair(taken: readonly number[] = []): Promise<number> {
  for (;;) {
    const p = await freePort();
    if (p < 65535 && !taken.includes(p) && !taken.includes(p + 1) && (await canListen(p + 1))) return p;
  }
}

/**
 * A free port for every listener `startStack` opens (the API, Temporal and its UI, PostgreSQL,
 * anvil, the dev Stripe, the Solana chain), so a second stack runs beside `npm start`'s.
 */
export async function freeStackPorts(): Promise<Record<string, string>> {
  const names = ['PORT', 'TEMPORAL_PORT', 'TEMPORAL_UI_PORT', 'PG_PORT', 'EVM_RPC_PORT', 'STRIPE_MOCK_PORT'];
  const ports: Record<string, string> = {};
  for (const name of names) ports[name] = String(await freePort());
  // The Solana chain serves WebSocket on the next port up: find a pair.
  ports.SOLANA_RPC_PORT = String(await freePortPair(Object.values(ports).map(Number)));
  return ports;
}
