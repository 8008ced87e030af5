/**
 * The confirmation loop's wait against a WebSocket server speaking the node's signatureSubscribe: a
 * notification ends it early, an unannounced subscription is dropped when the wait ends, and a
 * socket that cannot open leaves plain polling, without a reconnect loop.
 */
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { defaultWsUrl, SignatureNotifications, signatureWakeup } from '../../../src/chains/solana/signature-wakeup';

interface Received {
  method: string;
  params: unknown[];
}

/** A node's pubsub: answers each subscribe with an id; `notify` announces a signature. */
async function pubsubServer(port = 0) {
  const server = new WebSocketServer({ host: '127.0.0.1', port });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const received: Received[] = [];
  const subscriptions = new Map<string, { socket: WebSocket; id: number }>();
  let connections = 0;
  let nextId = 40;
  server.on('connection', (socket) => {
    connections += 1;
    socket.on('message', (data) => {
      const msg = JSON.parse(data.toString()) as { id: number; method: string; params: unknown[] };
      received.push({ method: msg.method, params: msg.params });
      if (msg.method === 'signatureSubscribe') {
        nextId += 1;
        subscriptions.set(String(msg.params[0]), { socket, id: nextId });
        socket.send(JSON.stringify({ jsonrpc: '2.0', id: msg.id, result: nextId }));
      }
    });
  });
  const subscribed = async (signature: string) => {
    while (!subscriptions.has(signature)) await new Promise((r) => setTimeout(r, 5));
    return subscriptions.get(signature)?.id;
  };
  return {
    url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`,
    port: (server.address() as AddressInfo).port,
    received,
    connections: () => connections,
    subscribed,
    async notify(signature: string) {
      const id = await subscribed(signature);
      const sub = subscriptions.get(signature);
      sub?.socket.send(
        JSON.stringify({
          jsonrpc: '2.0',
          method: 'signatureNotification',
          params: { result: { context: { slot: 9 }, value: { err: null } }, subscription: id },
        }),
      );
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of server.clients) client.terminate();
        server.close(() => resolve());
      }),
  };
}

const HOUR = 3_600_000;

/** Runs `body` against a fresh pubsub server, closed afterwards. */
async function withNode(body: (node: Awaited<ReturnType<typeof pubsubServer>>) => Promise<void>): Promise<void> {
  const node = await pubsubServer();
  try {
    await body(node);
  } finally {
    await node.close();
  }
}

it('subscribes at the commitment, and the announcement ends the current wait', () =>
  withNode(async (node) => {
    const notifications = new SignatureNotifications(node.url);
    const opening = signatureWakeup(notifications, 'sig-0', 'confirmed');
    await opening.sleep(HOUR); // sent once the socket opened: the node's answer wakes it (next test)
    const wakeup = signatureWakeup(notifications, 'sig-1', 'confirmed');
    const waiting = wakeup.sleep(HOUR);
    await node.notify('sig-1');
    await waiting; // an hour-long wait ends now, or the test times out
    wakeup.close();
    opening.close();
    expect(node.received.slice(1, 2)).toEqual([{ method: 'signatureSubscribe', params: ['sig-1', { commitment: 'confirmed' }] }]);
  }));

it('a subscription sent once the socket opened reads the status once more when the node answers it', () =>
  withNode(async (node) => {
    // A confirmation while the socket was opening may never be announced: the answer stands in for it.
    const wakeup = signatureWakeup(new SignatureNotifications(node.url), 'sig-7', 'confirmed');
    await wakeup.sleep(HOUR); // ends at the node's answer, or the test times out
    const started = Date.now();
    await wakeup.sleep(100); // one early read only
    expect(Date.now() - started).toBeGreaterThanOrEqual(95);
    wakeup.close();
  }));

it('an announcement between two waits ends only the next one', () =>
  withNode(async (node) => {
    const wakeup = signatureWakeup(new SignatureNotifications(node.url), 'sig-2', 'confirmed');
    await node.notify('sig-2');
    await new Promise((r) => setTimeout(r, 50)); // the notification arrives while no wait is running
    await wakeup.sleep(HOUR);
    const started = Date.now();
    await wakeup.sleep(100);
    expect(Date.now() - started).toBeGreaterThanOrEqual(95);
    wakeup.close();
  }));

it('a wait that ends unannounced unsubscribes with the id the node gave', () =>
  withNode(async (node) => {
    const wakeup = signatureWakeup(new SignatureNotifications(node.url), 'sig-3', 'finalized');
    const id = await node.subscribed('sig-3');
    await new Promise((r) => setTimeout(r, 20)); // the node's answer with the id arrives
    wakeup.close();
    wakeup.close();
    while (node.received.length < 2) await new Promise((r) => setTimeout(r, 5));
    expect(node.received).toEqual([
      { method: 'signatureSubscribe', params: ['sig-3', { commitment: 'finalized' }] },
      { method: 'signatureUnsubscribe', params: [id] },
    ]);
  }));

it('a socket that cannot open leaves plain polling, and no new socket is tried for a while', async () => {
  const gone = await pubsubServer();
  const { port, url } = gone;
  await gone.close();
  const notifications = new SignatureNotifications(url);
  const first = signatureWakeup(notifications, 'sig-4', 'confirmed');
  await new Promise((r) => setTimeout(r, 100)); // the connection is refused
  await first.sleep(20); // a plain 20 ms wait
  first.close();
  const back = await pubsubServer(port);
  try {
    const second = signatureWakeup(notifications, 'sig-5', 'confirmed');
    await second.sleep(50);
    second.close();
    expect(back.connections()).toBe(0);
  } finally {
    await back.close();
  }
});

it('without notifications the waits are plain timers', async () => {
  const wakeup = signatureWakeup(undefined, 'sig-6', 'confirmed');
  const started = Date.now();
  await wakeup.sleep(60);
  expect(Date.now() - started).toBeGreaterThanOrEqual(55);
  wakeup.close();
});

it('derives the WebSocket URL as web3.js does', () => {
  expect(defaultWsUrl('http://127.0.0.1:8899')).toBe('ws://127.0.0.1:8900/');
  expect(defaultWsUrl('https://api.devnet.solana.com')).toBe('wss://api.devnet.solana.com/');
  expect(defaultWsUrl('https://rpc.example.com:8443/key/abc')).toBe('wss://rpc.example.com:8444/key/abc');
});
