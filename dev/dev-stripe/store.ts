/**
 * The dev Stripe's state: every object it owns, its events, their webhook deliveries and its
 * idempotency keys, in memory and
 * in an append-only journal (one JSON line per change). Loading replays the journal and rewrites it
 * compacted, so a restart keeps every payment without the file growing without bound.
 */
import fs from 'node:fs';
import path from 'node:path';

export type StripeObject = Record<string, unknown> & { id: string; object: string };

const OWNED_KINDS = ['checkout.session', 'payment_intent', 'charge', 'balance_transaction', 'refund', 'dispute', 'event'] as const;
export type OwnedKind = (typeof OWNED_KINDS)[number];

export interface IdempotentResponse {
  fingerprint: string;
  status: number;
  body: string;
}

/** What a Checkout Session carries that Stripe keeps but does not show on the session itself. */
export interface SessionExtras {
  paymentIntentMetadata: Record<string, string>;
  /** What the Checkout page shows; absent in journals written before the page existed. */
  lineItems?: LineItem[];
}

export interface LineItem {
  name: string;
  quantity: number;
  unitAmount: number;
  currency: string;
}

/** One event's delivery to the webhook endpoint, as the sender last left it. */
export interface WebhookDelivery {
  eventId: string;
  endpoint: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  /** epoch milliseconds of the next attempt while pending */
  nextAttemptAt: number;
  /** the endpoint's last HTTP status, or null when it could not be reached */
  lastStatus: number | null;
  lastError: string | null;
}

type JournalLine =
  | { t: 'obj'; obj: StripeObject }
  | { t: 'idem'; key: string; res: IdempotentResponse }
  | { t: 'extras'; sessionId: string; extras: SessionExtras }
  | { t: 'delivery'; delivery: WebhookDelivery };

const isOwnedKind = (k: string): k is OwnedKind => (OWNED_KINDS as readonly string[]).includes(k);

export class DevStripeStore {
  private readonly objects = new Map<OwnedKind, Map<string, StripeObject>>(OWNED_KINDS.map((k) => [k, new Map()]));
  private readonly idempotency = new Map<string, IdempotentResponse>();
  private readonly extras = new Map<string, SessionExtras>();
  private readonly webhookDeliveries = new Map<string, WebhookDelivery>();
  private pending: string[] = [];

  private constructor(private readonly file: string | undefined) {}

  static open(file: string | undefined): DevStripeStore {
    const store = new DevStripeStore(file);
    if (!file) return store;
    fs.mkdirSync(path.dirname(file), { recursive: true });
    if (fs.existsSync(file)) {
      for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
        if (!line.trim()) continue;
        let entry: JournalLine;
        try {
          entry = JSON.parse(line) as JournalLine;
        } catch {
          continue; // a torn last line from a crash mid-write
        }
        store.apply(entry);
      }
    }
    const tmp = `${file}.tmp`;
    fs.writeFileSync(
      tmp,
      store
        .snapshotLines()
        .map((l) => `${l}\n`)
        .join(''),
    );
    fs.renameSync(tmp, file);
    return store;
  }

  private apply(entry: JournalLine): void {
    if (entry.t === 'obj') {
      if (isOwnedKind(entry.obj.object)) this.objects.get(entry.obj.object)?.set(entry.obj.id, entry.obj);
    } else if (entry.t === 'idem') {
      this.idempotency.set(entry.key, entry.res);
    } else if (entry.t === 'extras') {
      this.extras.set(entry.sessionId, entry.extras);
    } else {
      this.webhookDeliveries.set(entry.delivery.eventId, entry.delivery);
    }
  }

  private snapshotLines(): string[] {
    const lines: string[] = [];
    for (const map of this.objects.values()) for (const obj of map.values()) lines.push(JSON.stringify({ t: 'obj', obj }));
    for (const [sessionId, extras] of this.extras) lines.push(JSON.stringify({ t: 'extras', sessionId, extras }));
    for (const [key, res] of this.idempotency) lines.push(JSON.stringify({ t: 'idem', key, res }));
    for (const delivery of this.webhookDeliveries.values()) lines.push(JSON.stringify({ t: 'delivery', delivery }));
    return lines;
  }

  private record(entry: JournalLine): void {
    this.apply(entry);
    if (this.file) this.pending.push(JSON.stringify(entry));
  }

  /** One append per request: everything a request changed reaches the file together. */
  flush(): void {
    if (!this.file || this.pending.length === 0) return;
    fs.appendFileSync(this.file, this.pending.map((l) => `${l}\n`).join(''));
    this.pending = [];
  }

  put<T extends StripeObject>(obj: T): T {
    this.record({ t: 'obj', obj });
    return obj;
  }

  get(kind: OwnedKind, id: string): StripeObject | undefined {
    return this.objects.get(kind)?.get(id);
  }

  /** Any owned object by id, whatever its kind (for `expand`). */
  find(id: string): StripeObject | undefined {
    for (const map of this.objects.values()) {
      const obj = map.get(id);
      if (obj) return obj;
    }
    return undefined;
  }

  all(kind: OwnedKind): StripeObject[] {
    return [...(this.objects.get(kind)?.values() ?? [])];
  }

  putExtras(sessionId: string, extras: SessionExtras): void {
    this.record({ t: 'extras', sessionId, extras });
  }

  getExtras(sessionId: string): SessionExtras | undefined {
    return this.extras.get(sessionId);
  }

  putDelivery(delivery: WebhookDelivery): void {
    this.record({ t: 'delivery', delivery });
  }

  delivery(eventId: string): WebhookDelivery | undefined {
    return this.webhookDeliveries.get(eventId);
  }

  /** Every delivery in the order its event was first queued. */
  deliveries(): WebhookDelivery[] {
    return [...this.webhookDeliveries.values()];
  }

  idempotent(key: string): IdempotentResponse | undefined {
    return this.idempotency.get(key);
  }

  rememberIdempotent(key: string, res: IdempotentResponse): void {
    this.record({ t: 'idem', key, res });
  }
}
