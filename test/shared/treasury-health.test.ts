import { subscriptionIsValid, trialEnded, trialReminderDue } from '../../src/shared/subscription-rules';
import { reconciliationPeriod, runwayDays, treasuryHealth } from '../../src/shared/treasury-health';

const t = { warningBalanceCents: 200_000n, runwayWarningDays: 7 };
const dollars = (d: bigint) => d * 1_000_000n; // micro-USDC

describe('reconciliationPeriod', () => {
  it('the Monday 09:00 run reconciles the week that just ended', () => {
    expect(reconciliationPeriod(new Date('2026-11-23T09:00:00Z'))).toEqual({
      periodStart: '2026-11-16T00:00:00.000Z',
      periodEnd: '2026-11-23T00:00:00.000Z',
    });
  });
  it('every instant of the following week maps to the same period; Monday 00:00 starts the next one', () => {
    const p = reconciliationPeriod(new Date('2026-11-23T00:00:00Z'));
    expect(reconciliationPeriod(new Date('2026-11-26T15:00:00Z'))).toEqual(p);
    expect(reconciliationPeriod(new Date('2026-11-29T23:59:59.999Z'))).toEqual(p);
    expect(reconciliationPeriod(new Date('2026-11-30T00:00:00Z')).periodStart).toBe('2026-11-23T00:00:00.000Z');
    expect(reconciliationPeriod(new Date('2026-11-22T23:59:59.999Z')).periodEnd).toBe('2026-11-16T00:00:00.000Z');
  });
});

describe('runwayDays = floor(balance × 7 ÷ fronted)', () => {
  it('null without fronting, 0 without balance, floors otherwise', () => {
    expect(runwayDays(dollars(100n), 0n)).toBeNull();
    expect(runwayDays(0n, dollars(70n))).toBe(0n);
    expect(runwayDays(-5n, dollars(70n))).toBe(0n);
    expect(runwayDays(dollars(70n), dollars(70n))).toBe(7n); // $10/day, $70 → exactly 7 days
    expect(runwayDays(dollars(70n) - 1n, dollars(70n))).toBe(6n); // one micro-USDC short
    expect(runwayDays(dollars(2_000n), dollars(700n))).toBe(20n);
  });
});

describe('treasuryHealth at the boundaries ($2,000 and 7 days by default)', () => {
  it('exactly $2,000 and exactly 7 days is healthy; one micro-USDC less or one day less is a warning', () => {
    expect(treasuryHealth({ availableMicro: dollars(2_000n), runwayDays: 7n }, t)).toBe('healthy');
    expect(treasuryHealth({ availableMicro: dollars(2_000n) - 1n, runwayDays: 7n }, t)).toBe('warning');
    expect(treasuryHealth({ availableMicro: dollars(2_000n), runwayDays: 6n }, t)).toBe('warning');
  });
  it('both breached, or nothing available, is critical', () => {
    expect(treasuryHealth({ availableMicro: dollars(2_000n) - 1n, runwayDays: 6n }, t)).toBe('critical');
    expect(treasuryHealth({ availableMicro: 0n, runwayDays: null }, t)).toBe('critical');
    expect(treasuryHealth({ availableMicro: -1n, runwayDays: 0n }, t)).toBe('critical');
  });
  it('no fronting means no runway breach', () => {
    expect(treasuryHealth({ availableMicro: dollars(5_000n), runwayDays: null }, t)).toBe('healthy');
    expect(treasuryHealth({ availableMicro: dollars(1_000n), runwayDays: null }, t)).toBe('warning');
  });
  it('thresholds come from config', () => {
    expect(
      treasuryHealth({ availableMicro: dollars(2_000n), runwayDays: 9n }, { warningBalanceCents: 300_000n, runwayWarningDays: 10 }),
    ).toBe('critical');
  });
});

describe('subscription rules at boundary instants', () => {
  const end = new Date('2026-12-01T12:00:00Z');
  const before = new Date(end.getTime() - 1);
  it('valid while trialing or active and the trial or period has not ended', () => {
    expect(subscriptionIsValid({ status: 'trialing', trialEnd: end, currentPeriodEnd: null }, before)).toBe(true);
    expect(subscriptionIsValid({ status: 'trialing', trialEnd: end, currentPeriodEnd: null }, end)).toBe(false);
    expect(subscriptionIsValid({ status: 'active', trialEnd: null, currentPeriodEnd: end }, before)).toBe(true);
    expect(subscriptionIsValid({ status: 'active', trialEnd: null, currentPeriodEnd: end }, end)).toBe(false);
    expect(subscriptionIsValid({ status: 'past_due', trialEnd: null, currentPeriodEnd: end }, before)).toBe(false);
    expect(subscriptionIsValid({ status: 'canceled', trialEnd: end, currentPeriodEnd: end }, before)).toBe(false);
  });
  it('reminder window is (now, now + N days]; the trial ends at trial_end exactly', () => {
    const days3 = 3 * 86_400_000;
    expect(trialReminderDue(end, new Date(end.getTime() - days3), 3)).toBe(true);
    expect(trialReminderDue(end, new Date(end.getTime() - days3 - 1), 3)).toBe(false);
    expect(trialReminderDue(end, end, 3)).toBe(false);
    expect(trialEnded(end, before)).toBe(false);
    expect(trialEnded(end, end)).toBe(true);
  });
});
