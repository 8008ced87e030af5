import type { Commitment } from '@solana/web3.js';
import { WebSocket, type RawData } from 'ws';

/** A confirmation loop's sleep between status reads, which a pushed status ends early. */
export interface SignatureWakeup {
  /** Waits `ms`, or less once the node has announced the signature at the commitment. */
  sleep(ms: number): Promise<void>;
  /** Drops the subscription (idempotent). */
  close(): void;
}

/** After a socket that failed to open or broke, the next this long follow by polling alone. */
const REOPEN_AFTER_FAILURE_MS = 5_000;
/** A socket with no subscriptions left is closed after this long. */
const IDLE_CLOSE_MS = 2_000;

/** The RPC's WebSocket URL as web3.js derives it: ws/wss, and the next port when one is given. */
export function defaultWsUrl(rpcUrl: string): string {
  const url = new URL(rpcUrl);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  if (url.port) url.port = String(Number(url.port) + 1);
  return url.toString();
}

interface Subscription {
  announce: () => void;
  /**
   * Sent only once the socket opened: a confirmation in between may have gone unannounced (a node
   * need not announce a signature already confirmed when the subscription arrives), so the node's
   * answer to the subscribe counts as an announcement and the waiter reads the status once more.
   */
  catchUp: boolean;
  /** the node's id, once it has answered the subscribe request */
  id?: number;
  cancelled: boolean;
}

/**
 * `signatureSubscribe` over one WebSocket per rail, with no reconnect loop of its own: a socket that
 * fails or breaks is dropped (its waiters fall back to their polls), and the next wait opens a new
 * one, at most every REOPEN_AFTER_FAILURE_MS. (web3.js's own subscriptions reconnect forever and log
 * each failure, even with nothing subscribed.) The node drops a signature subscription once it has
 * notified; one never announced is unsubscribed when its wait ends.
 */
export class SignatureNotifications {
  private socket: WebSocket | undefined;
  private failedAt = -Infinity;
  private nextRequest = 1;
  private readonly requests = new Map<number, Subscription>();
  private readonly byId = new Map<number, Subscription>();
  private live = 0;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(private readonly url: string) {}

  /** Calls `announce` once the node reports the signature at `commitment`; returns the unsubscribe. */
  subscribe(signature: string, commitment: Commitment, announce: () => void): () => void {
    const socket = this.open();
    if (!socket) return () => undefined;
    const request = this.nextRequest++;
    const open = socket.readyState === WebSocket.OPEN;
    const sub: Subscription = { announce, catchUp: !open, cancelled: false };
    this.requests.set(request, sub);
    this.live += 1;
    clearTimeout(this.idleTimer);
    const send = () =>
      socket.send(JSON.stringify({ jsonrpc: '2.0', id: request, method: 'signatureSubscribe', params: [signature, { commitment }] }));
    if (open) send();
    else socket.once('open', send);
    return () => {
      if (sub.cancelled) return;
      sub.cancelled = true;
      this.requests.delete(request);
      if (sub.id !== undefined && this.byId.delete(sub.id) && socket.readyState === WebSocket.OPEN) {
        socket.send(JSON.stringify({ jsonrpc: '2.0', id: this.nextRequest++, method: 'signatureUnsubscribe', params: [sub.id] }));
      }
      this.live -= 1;
      if (this.live === 0) {
        this.idleTimer = setTimeout(() => this.socket?.close(1000), IDLE_CLOSE_MS);
        this.idleTimer.unref();
      }
    };
  }

  private open(): WebSocket | undefined {
    if (this.socket) return this.socket;
    if (Date.now() - this.failedAt < REOPEN_AFTER_FAILURE_MS) return undefined;
    const socket = new WebSocket(this.url);
    this.socket = socket;
    socket.on('message', (data: RawData) => this.onMessage(data));
    socket.on('error', () => {
      this.failedAt = Date.now();
    });
    socket.on('close', () => {
      if (this.socket === socket) this.socket = undefined;
      this.requests.clear();
      this.byId.clear();
    });
    return socket;
  }

  private onMessage(data: RawData): void {
    let msg: unknown;
    try {
      msg = JSON.parse(data.toString());
    } catch {
      return;
    }
    if (typeof msg !== 'object' || msg === null) return;
    if ('id' in msg && typeof msg.id === 'number' && 'result' in msg && typeof msg.result === 'number') {
      const sub = this.requests.get(msg.id);
      this.requests.delete(msg.id);
      if (sub && !sub.cancelled) {
        sub.id = msg.result;
        this.byId.set(msg.result, sub);
        if (sub.catchUp) sub.announce();
      }
      return;
    }
    if ('method' in msg && msg.method === 'signatureNotification' && 'params' in msg) {
      const params = msg.params;
      if (typeof params !== 'object' || params === null || !('subscription' in params) || typeof params.subscription !== 'number') return;
      const sub = this.byId.get(params.subscription);
      this.byId.delete(params.subscription); // the node has dropped it
      if (sub) {
        sub.id = undefined;
        sub.announce();
      }
    }
  }
}

/** A rail's notifications when it subscribes: on `wsUrl`, else on the socket its RPC URL implies. */
export function railSignatureNotifications(
  rpcEndpoint: string,
  opts: { subscribeSignatures?: boolean | undefined; wsUrl?: string | undefined },
): SignatureNotifications | undefined {
  return opts.subscribeSignatures ? new SignatureNotifications(opts.wsUrl ?? defaultWsUrl(rpcEndpoint)) : undefined;
}

const plainSleep: SignatureWakeup = {
  sleep: (ms) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
  close: () => undefined,
};

/**
 * The wait of a loop that follows a sent transaction, so that it reads the status in the slot the
 * transaction is confirmed instead of at the next poll (a poll interval is a slot, 400 ms, on a
 * cluster). The status reads stay the only source of truth: a notification only ends the current
 * wait, and a socket that is down or a notification that never comes costs at most one poll
 * interval. Without `notifications` the sleeps are plain timers.
 */
export function signatureWakeup(
  notifications: SignatureNotifications | undefined,
  signature: string,
  commitment: Commitment,
): SignatureWakeup {
  if (!notifications) return plainSleep;
  let announced = false;
  let wake: (() => void) | undefined;
  const unsubscribe = notifications.subscribe(signature, commitment, () => {
    announced = true;
    wake?.();
  });
  return {
    sleep(ms) {
      if (announced) {
        announced = false; // one early read per announcement; later waits are the plain interval
        return Promise.resolve();
      }
      return new Promise<void>((resolve) => {
        const timer = setTimeout(done, ms);
        function done() {
          clearTimeout(timer);
          wake = undefined;
          announced = false;
          resolve();
        }
        wake = done;
      });
    },
    close: unsubscribe,
  };
}
