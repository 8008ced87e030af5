/**
 * What changed in PostgreSQL, pushed as it commits: one connection LISTENing to the channels the
 * triggers of migration `change_notifications` NOTIFY on (and `webhook_event_stored`, which the API
 * sends after storing an event: `announceStoredWebhookEvents`).
 *
 * A notification is only delivered to a connection that is listening, so whenever the feed is not
 * (before the first connect, after the connection drops, until it listens again) a subscriber is
 * told to `reset`: anything it keeps from before may have changed unseen. `listening` says whether
 * notifications can be trusted right now.
 */
import { Client } from 'pg';
import type { Logger } from 'pino';

export const CHANGE_CHANNELS = {
  /** payload: a purchase id whose status read model changed */
  purchaseChanged: 'purchase_changed',
  /** payload: the id of a Stripe event just stored in the webhook outbox */
  webhookEventStored: 'webhook_event_stored',
} as const;
type ChangeChannel = (typeof CHANGE_CHANNELS)[keyof typeof CHANGE_CHANNELS];

interface ChangeSubscriber {
  notify(payload: string): void;
  /** notifications may have been missed: drop what depends on them */
  reset(): void;
}

export interface ChangeFeed {
  subscribe(channel: ChangeChannel, subscriber: ChangeSubscriber): () => void;
  readonly listening: boolean;
  close(): Promise<void>;
}

export interface ChangeFeedOptions {
  /** delay before reconnecting after the connection failed or dropped */
  reconnectMs?: number;
  logger: Logger;
}

export function createChangeFeed(databaseUrl: string, { reconnectMs = 1_000, logger }: ChangeFeedOptions): ChangeFeed {
  const subscribers = new Map<ChangeChannel, Set<ChangeSubscriber>>();
  let client: Client | undefined;
  let listening = false;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;

  const everyone = () => [...subscribers.values()].flatMap((s) => [...s]);
  function resetAll(): void {
    for (const s of everyone()) s.reset();
  }

  /** Stop hearing from a connection and end it; its late errors are ignored. */
  async function discard(c: Client): Promise<void> {
    c.removeAllListeners();
    c.on('error', () => undefined);
    await c.end().catch(() => undefined);
  }

  function dropped(c: Client, err?: unknown): void {
    if (client !== c) return;
    client = undefined;
    listening = false;
    resetAll();
    void discard(c);
    if (closed) return;
    logger.warn({ err: err instanceof Error ? err.message : err, retryInMs: reconnectMs }, 'change feed lost its connection');
    retry = setTimeout(connect, reconnectMs);
  }

  function connect(): void {
    if (closed) return;
    const c = new Client({ connectionString: databaseUrl, keepAlive: true });
    client = c;
    c.on('notification', (msg) => {
      const channel = Object.values(CHANGE_CHANNELS).find((ch) => ch === msg.channel);
      if (!channel || msg.payload === undefined) return;
      for (const s of subscribers.get(channel) ?? []) s.notify(msg.payload);
    });
    c.on('error', (err) => dropped(c, err));
    c.on('end', () => dropped(c));
    c.connect()
      .then(() =>
        c.query(
          Object.values(CHANGE_CHANNELS)
            .map((ch) => `LISTEN ${ch};`)
            .join(' '),
        ),
      )
      .then(() => {
        if (client !== c) return;
        // Whatever changed while nobody listened was not announced.
        resetAll();
        listening = true;
      })
      .catch((err: unknown) => dropped(c, err));
  }

  connect();
  return {
    subscribe(channel, subscriber) {
      let set = subscribers.get(channel);
      if (!set) subscribers.set(channel, (set = new Set()));
      set.add(subscriber);
      return () => set.delete(subscriber);
    },
    get listening() {
      return listening;
    },
    async close() {
      closed = true;
      clearTimeout(retry);
      const c = client;
      client = undefined;
      listening = false;
      if (c) await discard(c);
    },
  };
}
