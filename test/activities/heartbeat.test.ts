/**
 * Heartbeats of the long activities, in MockActivityEnvironment: the timer beats while the work
 * runs and stops with it, and settleOnChain beats while its rail is still sending and confirming.
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import pino from 'pino';
import { withHeartbeat } from '../../src/activities/heartbeat';
import { createPurchaseActivities } from '../../src/activities/purchase';
import type { SettlementRail } from '../../src/chains/rail';
import type { Db } from '../../src/db/client';
import { Rail } from '../../src/shared/status';
import { freshDb } from '../helpers/db';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function recordedHeartbeats(env: MockActivityEnvironment): number[] {
  const at: number[] = [];
  env.on('heartbeat', () => at.push(Date.now()));
  return at;
}

describe('withHeartbeat', () => {
  it('beats from the start and on every interval while the work runs, then stops', async () => {
    const env = new MockActivityEnvironment();
    const beats = recordedHeartbeats(env);
    await expect(
      env.run(() =>
        withHeartbeat(async () => {
          await sleep(330);
          return 'done';
        }, 50),
      ),
    ).resolves.toBe('done');
    expect(beats.length).toBeGreaterThanOrEqual(5);
    const after = beats.length;
    await sleep(200);
    expect(beats.length).toBe(after);
  });

  it('passes a failure through and stops beating', async () => {
    const env = new MockActivityEnvironment();
    const beats = recordedHeartbeats(env);
    await expect(
      env.run(() =>
        withHeartbeat(async () => {
          await sleep(120);
          throw new Error('rpc down');
        }, 50),
      ),
    ).rejects.toThrow('rpc down');
    const after = beats.length;
    expect(after).toBeGreaterThanOrEqual(2);
    await sleep(150);
    expect(beats.length).toBe(after);
  });

  it('outside an activity only runs the work', async () => {
    await expect(withHeartbeat(async () => 42, 10)).resolves.toBe(42);
  });
});

describe('settleOnChain', () => {
  let db: Db;
  beforeAll(async () => {
    ({ db } = await freshDb());
  });
  afterAll(async () => {
    await db.$disconnect();
  });

  it('heartbeats every second while the rail sends and confirms', async () => {
    // A rail whose confirmation takes 2.3 s, like a slow cluster.
    const slowRail: SettlementRail = {
      rail: Rail.Solana,
      isValidWallet: () => true,
      treasuryBalanceMicroUsdc: async () => 0n,
      ping: async () => undefined,
      settle: async (request) => {
        await sleep(2_300);
        return { txId: `sig-${request.purchaseId}`, nftId: 'mint', alreadySettled: false };
      },
    };
    const activities = createPurchaseActivities({
      db,
      rails: { [Rail.Solana]: slowRail },
      holdTtlMs: 60_000,
      logger: pino({ level: 'silent' }),
    });
    const env = new MockActivityEnvironment({ activityType: 'settleOnChain' });
    const beats = recordedHeartbeats(env);
    const started = Date.now();
    const result = await env.run(activities.settleOnChain, {
      purchaseId: 'pur_0123456789abcdef',
      rail: Rail.Solana,
      buyerWallet: 'buyer',
      nft: { name: 'n', symbol: 's', uri: 'u' },
      payouts: [{ position: 0, wallet: 'w', role: 'artist', shareBps: 10_000, amountMicroUsdc: '1' }],
    });
    expect(result).toMatchObject({ txId: 'sig-pur_0123456789abcdef', alreadySettled: false });
    // One at once, then at ~1 s and ~2 s: no gap near the workflow's 5 s heartbeatTimeout.
    expect(beats.length).toBeGreaterThanOrEqual(3);
    const gaps = [started, ...beats].slice(1).map((t, i) => t - ([started, ...beats][i] ?? t));
    expect(Math.max(...gaps)).toBeLessThan(2_000);
  });
});
