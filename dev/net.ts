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

/**
 * A free port for every listener `startStack` opens (the API, Temporal and its UI, PostgreSQL,
 * anvil, the dev Stripe, the Solana chain), so a second stack runs beside `npm start`'s.
 */
export async function freeStackPorts(): Promise<Record<string, string>> {
  const names = ['PORT', 'TEMPORAL_PORT', 'TEMPORAL_UI_PORT', 'PG_PORT', 'EVM_RPC_PORT', 'STRIPE_MOCK_PORT'];
  const ports: Record<string, string> = {};
  for (const name of names) ports[name] = String(await freePort());
  // The Solana chain serves WebSocket on the next port up: find a pair.
  for (;;) {
    const p = await freePort();
    if (p < 65535 && !Object.values(ports).includes(String(p + 1))) {
      ports.SOLANA_RPC_PORT = String(p);
      break;
    }
  }
  return ports;
}
