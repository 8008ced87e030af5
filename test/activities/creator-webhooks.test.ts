/** The creator webhook signature scheme and the retry schedule. */
import { retryDelayMs, signCreatorWebhook, verifyCreatorWebhookSignature } from '../../src/activities/creator-webhooks';
import { evaluateHealth } from '../../src/shared/engine-health';

it('signs t.body with HMAC-SHA256 and verifies only the same secret, body and a fresh t', () => {
  const body = '{"id":"evt_payout_x_0"}';
  const header = signCreatorWebhook('s3cret-s3cret-s3cret', body, 1_800_000_000);
  expect(header).toMatch(/^t=1800000000,v1=[0-9a-f]{64}$/);
  expect(verifyCreatorWebhookSignature('s3cret-s3cret-s3cret', header, body, 300, 1_800_000_100)).toBe(true);
  expect(verifyCreatorWebhookSignature('another-secret-here', header, body, 300, 1_800_000_100)).toBe(false);
  expect(verifyCreatorWebhookSignature('s3cret-s3cret-s3cret', header, `${body} `, 300, 1_800_000_100)).toBe(false);
  expect(verifyCreatorWebhookSignature('s3cret-s3cret-s3cret', header, body, 300, 1_800_000_301)).toBe(false);
});

it('retries 30 s after the first failure, doubling, at most an hour apart', () => {
  expect([1, 2, 3, 8, 20].map(retryDelayMs)).toEqual([30_000, 60_000, 120_000, 3_600_000, 3_600_000]);
});

it('the success-rate check compares in integers: 94.99% is below 95%', () => {
  const t = { windowMs: 900_000, minSuccessRatePct: 95, maxPending: 100, maxPendingAgeMs: 180_000 };
  const base = { pending: 0, pendingOverAge: 0, oldestPendingAgeMs: null };
  const rate = (settled: number, failed: number) =>
    evaluateHealth({ ...base, settled, failed }, t).find((r) => r.check === 'success_rate')?.healthy;
  expect([rate(1899, 101), rate(19, 1), rate(0, 0), rate(0, 1)]).toEqual([false, true, true, false]);
  const age = evaluateHealth({ ...base, settled: 0, failed: 0, pending: 101, pendingOverAge: 1, oldestPendingAgeMs: 180_001 }, t);
  expect(age.map((r) => [r.check, r.healthy])).toEqual([
    ['success_rate', true],
    ['pending_count', false],
    ['pending_age', false],
  ]);
});
