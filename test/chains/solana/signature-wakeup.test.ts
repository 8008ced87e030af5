/** The confirmation loop's wait: a signature notification ends it early, once; the poll interval bounds it otherwise. */
import type { Commitment, Connection, SignatureResultCallback } from '@solana/web3.js';
import { signatureWakeup } from '../../../src/chains/solana/signature-wakeup';

/** The two Connection methods the wakeup uses, recorded. */
function pubsub() {
  const listeners = new Map<number, { signature: string; commitment: Commitment | undefined; callback: SignatureResultCallback }>();
  const removed: number[] = [];
  let next = 0;
  const connection = {
    onSignature(signature: string, callback: SignatureResultCallback, commitment?: Commitment) {
      next += 1;
      listeners.set(next, { signature, commitment, callback });
      return next;
    },
    async removeSignatureListener(id: number) {
      removed.push(id);
      listeners.delete(id);
    },
  };
  const announce = (id: number) => {
    const l = listeners.get(id);
    listeners.delete(id); // the node drops a signature subscription once it has notified
    l?.callback({ err: null }, { slot: 1 });
  };
  return { connection: connection as unknown as Connection, listeners, removed, announce };
}

const HOUR = 3_600_000;

it('subscribes at the commitment, and an announcement ends the current wait', async () => {
  const ps = pubsub();
  const wakeup = signatureWakeup(ps.connection, 'sig-1', 'confirmed', true);
  expect([...ps.listeners.values()].map((l) => [l.signature, l.commitment])).toEqual([['sig-1', 'confirmed']]);
  const waiting = wakeup.sleep(HOUR);
  ps.announce(1);
  await waiting; // an hour-long wait ends now, or the test times out
  wakeup.close();
  expect(ps.removed).toEqual([]); // already gone on the node's side: no unsubscribe sent
});

it('an announcement that comes between two waits ends the next one, and only that one', async () => {
  jest.useFakeTimers();
  try {
    const ps = pubsub();
    const wakeup = signatureWakeup(ps.connection, 'sig-2', 'confirmed', true);
    ps.announce(1);
    let first = false;
    void wakeup.sleep(HOUR).then(() => (first = true));
    await Promise.resolve();
    expect(first).toBe(true);
    let second = false;
    void wakeup.sleep(400).then(() => (second = true));
    await jest.advanceTimersByTimeAsync(399);
    expect(second).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    expect(second).toBe(true);
  } finally {
    jest.useRealTimers();
  }
});

it('close unsubscribes a signature that was never announced', () => {
  const ps = pubsub();
  const wakeup = signatureWakeup(ps.connection, 'sig-3', 'finalized', true);
  wakeup.close();
  wakeup.close();
  expect(ps.removed).toEqual([1]);
});

it('disabled, it subscribes to nothing and waits the whole interval', async () => {
  jest.useFakeTimers();
  try {
    const ps = pubsub();
    const wakeup = signatureWakeup(ps.connection, 'sig-4', 'confirmed', false);
    expect(ps.listeners.size).toBe(0);
    let done = false;
    void wakeup.sleep(400).then(() => (done = true));
    await jest.advanceTimersByTimeAsync(399);
    expect(done).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    expect(done).toBe(true);
    wakeup.close();
    expect(ps.removed).toEqual([]);
  } finally {
    jest.useRealTimers();
  }
});
