import type { Commitment, Connection } from '@solana/web3.js';

/** A confirmation loop's sleep between status reads, which a pushed status ends early. */
export interface SignatureWakeup {
  /** Waits `ms`, or less once the node has announced the signature at the commitment. */
  sleep(ms: number): Promise<void>;
  /** Drops the subscription (idempotent). */
  close(): void;
}

const plainSleep: SignatureWakeup = {
  sleep: (ms) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
  close: () => undefined,
};

/**
 * Subscribes to a sent transaction's signature over the RPC's WebSocket (`signatureSubscribe`), so
 * the loop that follows it reads its status in the slot it is confirmed instead of at the next poll
 * (a poll interval is a slot, 400 ms, on a cluster). The status reads stay the only source of truth:
 * a notification only ends the current wait, and a socket that is down or a notification that never
 * comes costs at most one poll interval. With `enabled` false the sleeps are plain timers.
 */
export function signatureWakeup(connection: Connection, signature: string, commitment: Commitment, enabled: boolean): SignatureWakeup {
  if (!enabled) return plainSleep;
  let announced = false;
  let wake: (() => void) | undefined;
  let subscription: number | undefined = connection.onSignature(
    signature,
    () => {
      // The node ends a signature subscription once it has notified; nothing to remove after this.
      subscription = undefined;
      announced = true;
      wake?.();
    },
    commitment,
  );
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
    close() {
      if (subscription === undefined) return;
      const id = subscription;
      subscription = undefined;
      connection.removeSignatureListener(id).catch(() => undefined);
    },
  };
}
