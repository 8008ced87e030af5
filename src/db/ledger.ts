/**
 * Double-entry ledger in PostgreSQL, counted in micro-USD (1 cent = 10_000; 1 micro-USDC = 1).
 * Journal transactions are append-only, keyed by an idempotency key, and sum to zero. Treasury holds
 * follow TigerBeetle's pending → posted | voided | expired.
 */
import { DomainError, ErrorType } from '../shared/errors';
import { centsToMicro } from '../shared/money';
import { isRiskReason, type RiskReason } from '../shared/risk';
import { PurchaseStatus, Rail } from '../shared/status';
import { Prisma, type Db } from './client';
import { newId } from './ids';
import { NO_RISK_LIMITS, riskLimitExceeded, type RiskLimits } from './risk-limits';

export const Account = {
  /** USDC the treasury holds on a chain; must equal the on-chain balance. */
  treasury: (rail: Rail) => `treasury:${rail === Rail.Evm ? 'evm' : 'solana'}`,
  /** Money Stripe holds for us and will pay out. */
  stripeReceivable: 'stripe:receivable',
  stripeFees: 'stripe:fees',
  /** Sales at gross; platform margin = gross − stripe fee − creator payouts. */
  sales: 'revenue:sales',
  creatorPayouts: 'expense:creator-payouts',
  treasuryFunding: 'equity:treasury-funding',
  clawbackReceivable: 'clawback:receivable',
  refundLosses: 'expense:refund-losses',
} as const;

const ACCOUNT_KINDS: Record<string, string> = {
  'treasury:solana': 'asset',
  'treasury:evm': 'asset',
  [Account.stripeReceivable]: 'asset',
  [Account.stripeFees]: 'expense',
  [Account.sales]: 'revenue',
  [Account.creatorPayouts]: 'expense',
  [Account.treasuryFunding]: 'equity',
  [Account.clawbackReceivable]: 'asset',
  [Account.refundLosses]: 'expense',
};

export const HoldStatus = { Pending: 'pending', Posted: 'posted', Voided: 'voided', Expired: 'expired' } as const;

export interface JournalLine {
  account: string;
  /** debit positive, credit negative */
  amountMicro: bigint;
}

export interface JournalInput {
  idempotencyKey: string;
  kind: string;
  purchaseId?: string;
  memo?: string;
  lines: readonly JournalLine[];
}

type Tx = Prisma.TransactionClient;

export async function ensureLedgerAccounts(db: Db): Promise<void> {
  await db.ledgerAccount.createMany({
    data: Object.entries(ACCOUNT_KINDS).map(([code, kind]) => ({ code, kind })),
    skipDuplicates: true,
  });
}

/**
 * Append a balanced journal transaction. A repeated idempotency key is a no-op that returns the
 * original transaction id, so retried activities never double-post.
 */
export async function postJournal(tx: Tx, input: JournalInput): Promise<{ transactionId: string; created: boolean }> {
  const sum = input.lines.reduce((acc, l) => acc + l.amountMicro, 0n);
  if (sum !== 0n) throw new DomainError(ErrorType.Internal, `journal ${input.idempotencyKey} does not balance: ${sum}`);
  if (input.lines.some((l) => l.amountMicro === 0n)) {
    input = { ...input, lines: input.lines.filter((l) => l.amountMicro !== 0n) };
  }
  // INSERT … ON CONFLICT DO NOTHING RETURNING: a repeated key returns no row and changes nothing.
  const [created] = await tx.journalTransaction.createManyAndReturn({
    data: [{ id: newId('jtx'), idempotencyKey: input.idempotencyKey, kind: input.kind, purchaseId: input.purchaseId, memo: input.memo }],
    skipDuplicates: true,
    select: { id: true },
  });
  if (!created) {
    const existing = await tx.journalTransaction.findUniqueOrThrow({
      where: { idempotencyKey: input.idempotencyKey },
      select: { id: true },
    });
    return { transactionId: existing.id, created: false };
  }
  await tx.journalEntry.createMany({
    data: input.lines.map((l) => ({ transactionId: created.id, accountCode: l.account, amountMicro: l.amountMicro })),
  });
  await addToBalances(tx, input.lines);
  return { transactionId: created.id, created: true };
}

/**
 * Adds each line to its account's balance in two statements, whatever the number of lines: the
 * accounts are locked in code order (so two journals over the same accounts cannot deadlock), then
 * updated in one UPDATE … FROM (VALUES …). The lock is FOR NO KEY UPDATE, the one an UPDATE takes:
 * FOR UPDATE would also wait on the KEY SHARE locks other journals' entries hold on these rows
 * through their foreign key, and deadlock with them. The deltas are summed per account first, because an
 * UPDATE … FROM applies only one joined row to each target row.
 */
async function addToBalances(tx: Tx, lines: readonly JournalLine[]): Promise<void> {
  const deltas = new Map<string, bigint>();
  for (const l of lines) deltas.set(l.account, (deltas.get(l.account) ?? 0n) + l.amountMicro);
  const accounts = [...deltas.keys()].sort();
  if (accounts.length === 0) return;
  await tx.$queryRaw`SELECT code FROM "LedgerAccount" WHERE code IN (${Prisma.join(accounts)}) ORDER BY code FOR NO KEY UPDATE`;
  const values = accounts.map((code) => Prisma.sql`(${code}, ${deltas.get(code) ?? 0n}::bigint)`);
  await tx.$executeRaw`
    UPDATE "LedgerAccount" AS a SET "balanceMicro" = a."balanceMicro" + v.delta, "updatedAt" = ${new Date()}
    FROM (VALUES ${Prisma.join(values)}) AS v(code, delta)
    WHERE a.code = v.code`;
}

export interface TreasuryPosition {
  balanceMicro: bigint;
  openHoldsMicro: bigint;
  availableMicro: bigint;
}

async function lockedTreasuryPosition(tx: Tx, account: string): Promise<TreasuryPosition> {
  // The row lock serialises every reservation against this treasury: two purchases can never both
  // see the same available balance.
  const rows = await tx.$queryRaw<{ balanceMicro: bigint }[]>`
    SELECT "balanceMicro" FROM "LedgerAccount" WHERE code = ${account} FOR UPDATE`;
  const balanceMicro = rows[0]?.balanceMicro ?? 0n;
  const holds = await tx.treasuryHold.aggregate({
    where: { status: HoldStatus.Pending, account },
    _sum: { amountMicro: true },
  });
  const openHoldsMicro = holds._sum.amountMicro ?? 0n;
  return { balanceMicro, openHoldsMicro, availableMicro: balanceMicro - openHoldsMicro };
}

export async function treasuryPosition(db: Db, rail: Rail): Promise<TreasuryPosition> {
  const account = Account.treasury(rail);
  const [acct, holds] = await Promise.all([
    db.ledgerAccount.findUnique({ where: { code: account } }),
    db.treasuryHold.aggregate({ where: { status: HoldStatus.Pending, account }, _sum: { amountMicro: true } }),
  ]);
  const balanceMicro = acct?.balanceMicro ?? 0n;
  const openHoldsMicro = holds._sum.amountMicro ?? 0n;
  return { balanceMicro, openHoldsMicro, availableMicro: balanceMicro - openHoldsMicro };
}

export type ReserveOutcome =
  /** `riskReason`: the hold is made but went over a risk limit, so the purchase waits for approval */
  | { outcome: 'reserved'; holdId: string; position: TreasuryPosition; riskReason: RiskReason | null }
  | { outcome: 'insufficient'; position: TreasuryPosition };

export interface ReserveInput {
  purchaseId: string;
  rail: Rail;
  amountMicro: bigint;
  expiresAt: Date;
  now?: Date;
  limits?: RiskLimits;
}

/**
 * Reserve `amountMicro` for a purchase, or report that the treasury cannot cover it. Idempotent: a
 * repeat answers the hold already made, with the risk verdict it was made with. The risk limits are
 * checked in the same transaction, under the same lock, as the availability (src/db/risk-limits.ts).
 */
export async function reserveTreasuryHold(db: Db, input: ReserveInput): Promise<ReserveOutcome> {
  return db.$transaction((tx) => reserveTreasuryHoldIn(tx, input));
}

/** `reserveTreasuryHold` inside a caller's transaction, which then holds the treasury's row lock until it commits. */
export async function reserveTreasuryHoldIn(tx: Tx, input: ReserveInput): Promise<ReserveOutcome> {
  const account = Account.treasury(input.rail);
  const now = input.now ?? new Date();
  const position = await lockedTreasuryPosition(tx, account);
  const existing = await tx.treasuryHold.findUnique({ where: { purchaseId: input.purchaseId } });
  if (existing && (existing.status === HoldStatus.Pending || existing.status === HoldStatus.Posted)) {
    return { outcome: 'reserved', holdId: existing.id, position, riskReason: riskReasonOf(existing.riskReason) };
  }
  if (position.availableMicro < input.amountMicro) return { outcome: 'insufficient', position };
  const riskReason = await riskLimitExceeded(tx, { purchaseId: input.purchaseId, account, now, limits: input.limits ?? NO_RISK_LIMITS });
  const hold = existing
    ? await tx.treasuryHold.update({
        where: { id: existing.id },
        data: { status: HoldStatus.Pending, amountMicro: input.amountMicro, expiresAt: input.expiresAt, reservedAt: now, riskReason },
      })
    : await tx.treasuryHold.create({
        data: {
          id: newId('hold'),
          purchaseId: input.purchaseId,
          account,
          amountMicro: input.amountMicro,
          status: HoldStatus.Pending,
          expiresAt: input.expiresAt,
          reservedAt: now,
          riskReason,
        },
      });
  return {
    outcome: 'reserved',
    holdId: hold.id,
    position: {
      ...position,
      openHoldsMicro: position.openHoldsMicro + input.amountMicro,
      availableMicro: position.availableMicro - input.amountMicro,
    },
    riskReason,
  };
}

const riskReasonOf = (v: string | null): RiskReason | null => (isRiskReason(v) ? v : null);

/** Release a pending hold. Voiding twice, or voiding nothing, changes nothing. A posted hold stays. */
export async function voidTreasuryHold(db: Db, purchaseId: string): Promise<'voided' | 'none' | 'posted'> {
  const hold = await db.treasuryHold.findUnique({ where: { purchaseId } });
  if (!hold) return 'none';
  if (hold.status === HoldStatus.Posted) return 'posted';
  await db.treasuryHold.updateMany({
    where: { purchaseId, status: { in: [HoldStatus.Pending, HoldStatus.Expired] } },
    data: { status: HoldStatus.Voided },
  });
  return 'voided';
}

/** Pending holds past their TTL. */
const staleHoldWhere = (now: Date) => ({ status: HoldStatus.Pending, expiresAt: { lt: now } });

export interface StaleHold {
  id: string;
  purchaseId: string;
  account: string;
  amountMicro: bigint;
  expiresAt: Date;
}

/** Pending holds past their TTL, the longest expired first. */
export const listStaleHolds = (db: Db, now: Date, limit: number): Promise<StaleHold[]> =>
  db.treasuryHold.findMany({
    where: staleHoldWhere(now),
    orderBy: { expiresAt: 'asc' },
    take: limit,
    select: { id: true, purchaseId: true, account: true, amountMicro: true, expiresAt: true },
  });

export const countStaleHolds = (db: Db, now: Date): Promise<number> => db.treasuryHold.count({ where: staleHoldWhere(now) });

/**
 * Pending holds past their TTL whose purchase has already ended (failed, refunded or disputed — for
 * example a run an operator terminated) become expired, releasing the reservation. A hold whose run
 * is still alive is never expired under it: that run will still spend it, so it is only reported.
 */
export async function expireOrphanedHolds(db: Db, now: Date): Promise<number> {
  const stale = await db.treasuryHold.findMany({ where: staleHoldWhere(now), select: { purchaseId: true } });
  if (stale.length === 0) return 0;
  const ended = await db.purchase.findMany({
    where: {
      id: { in: stale.map((h) => h.purchaseId) },
      status: { in: [PurchaseStatus.Failed, PurchaseStatus.Refunded, PurchaseStatus.Disputed] },
    },
    select: { id: true },
  });
  if (ended.length === 0) return 0;
  const res = await db.treasuryHold.updateMany({
    where: { purchaseId: { in: ended.map((p) => p.id) }, status: HoldStatus.Pending },
    data: { status: HoldStatus.Expired },
  });
  return res.count;
}

export interface SettledPurchaseJournal {
  purchaseId: string | null;
  entries: { accountCode: string; amountMicro: bigint }[];
}

/** The `purchase_settled` journal transactions booked in [start, end), oldest first. */
export const listSettlementJournals = (db: Db, start: Date, end: Date): Promise<SettledPurchaseJournal[]> =>
  db.journalTransaction.findMany({
    where: { kind: 'purchase_settled', createdAt: { gte: start, lt: end } },
    select: { purchaseId: true, entries: { select: { accountCode: true, amountMicro: true } } },
    orderBy: { createdAt: 'asc' },
  });

export interface BookedStripeFee {
  purchaseId: string;
  chargeId: string;
  stripeFeeCents: bigint;
}

/** The Stripe fees of the settled purchases (whenever booked) paid by these charges. */
export async function bookedStripeFeesOfCharges(db: Db, chargeIds: readonly string[]): Promise<BookedStripeFee[]> {
  if (chargeIds.length === 0) return [];
  const rows = await db.purchase.findMany({
    where: { chargeId: { in: [...chargeIds] }, stripeFeeCents: { not: null } },
    select: { id: true, chargeId: true, stripeFeeCents: true },
  });
  const settled = new Set(
    (
      await db.journalTransaction.findMany({
        where: { kind: 'purchase_settled', purchaseId: { in: rows.map((r) => r.id) } },
        select: { purchaseId: true },
      })
    ).map((t) => t.purchaseId),
  );
  return rows.flatMap((r) =>
    r.chargeId && settled.has(r.id) ? [{ purchaseId: r.id, chargeId: r.chargeId, stripeFeeCents: r.stripeFeeCents ?? 0n }] : [],
  );
}

export async function postTreasuryHold(tx: Tx, purchaseId: string): Promise<void> {
  await tx.treasuryHold.updateMany({ where: { purchaseId, status: { not: HoldStatus.Posted } }, data: { status: HoldStatus.Posted } });
}

/** Treasury funding (dev bootstrap, or a Stripe payout converted to USDC). Idempotent by reference. */
export async function recordTreasuryFunding(
  db: Db,
  input: { rail: Rail; amountMicro: bigint; reference: string; source: 'bootstrap' | 'stripe_payout' | 'owner' },
): Promise<{ created: boolean }> {
  if (input.amountMicro <= 0n) throw new DomainError(ErrorType.ValidationFailed, 'funding amount must be positive');
  const credit = input.source === 'stripe_payout' ? Account.stripeReceivable : Account.treasuryFunding;
  return db.$transaction(async (tx) => {
    const res = await postJournal(tx, {
      idempotencyKey: `treasury:${input.source}:${input.reference}`,
      kind: 'treasury_funded',
      memo: `${input.source} ${input.reference}`,
      lines: [
        { account: Account.treasury(input.rail), amountMicro: input.amountMicro },
        { account: credit, amountMicro: -input.amountMicro },
      ],
    });
    return { created: res.created };
  });
}

/**
 * Lines for a settled purchase. gross = stripeFee + platformFee + creatorPool, so the platform's
 * margin is what remains of revenue:sales after the fee and payout expenses.
 */
export function settlementJournalLines(input: {
  rail: Rail;
  grossCents: bigint;
  stripeFeeCents: bigint;
  creatorPoolMicroUsdc: bigint;
}): JournalLine[] {
  const net = centsToMicro(input.grossCents - input.stripeFeeCents);
  return [
    { account: Account.stripeReceivable, amountMicro: net },
    { account: Account.stripeFees, amountMicro: centsToMicro(input.stripeFeeCents) },
    { account: Account.creatorPayouts, amountMicro: input.creatorPoolMicroUsdc },
    { account: Account.sales, amountMicro: -centsToMicro(input.grossCents) },
    { account: Account.treasury(input.rail), amountMicro: -input.creatorPoolMicroUsdc },
  ];
}

/** After the pivot, a refund or dispute becomes a claim on the creators plus a loss; never a chain reversal. */
export function clawbackJournalLines(input: { grossCents: bigint; creatorPoolMicroUsdc: bigint }): JournalLine[] {
  const gross = centsToMicro(input.grossCents);
  return [
    { account: Account.stripeReceivable, amountMicro: -gross },
    { account: Account.clawbackReceivable, amountMicro: input.creatorPoolMicroUsdc },
    { account: Account.refundLosses, amountMicro: gross - input.creatorPoolMicroUsdc },
  ];
}
