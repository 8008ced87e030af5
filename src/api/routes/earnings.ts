/**
 * A creator's earnings: totals (settled, pending, clawbacks) and one line per purchase with its
 * transaction, as JSON or CSV. The public routes answer only for the wallet that proves ownership
 * (src/api/wallet-proof.ts, routes/creator-earnings.ts); the admin routes here cover any wallet.
 */
import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { Db } from '../../db/client';
import { creatorEarnings, type Earnings } from '../../db/earnings';
import { ErrorType } from '../../shared/errors';
import { HttpError } from '../errors';
import { EVM_WALLET_PATTERN, SOLANA_WALLET_PATTERN } from '../validators';

const DAY_MS = 86_400_000;
/** Without `from`, the 30 days before `to`. */
const DEFAULT_EARNINGS_DAYS = 30;
const MAX_EARNINGS_DAYS = 366;

export const creatorWalletParam = z.object({
  wallet: z
    .string()
    .regex(new RegExp(`${SOLANA_WALLET_PATTERN.source}|${EVM_WALLET_PATTERN.source}`), 'must be a Solana or EVM address')
    .meta({ description: 'a base58 Solana address or a 0x EVM address' }),
});

export const earningsQuery = z
  .object({
    from: z.iso
      .datetime({ offset: true })
      .optional()
      .meta({ description: `start of the period, inclusive (default: ${DEFAULT_EARNINGS_DAYS} days before \`to\`)` }),
    to: z.iso.datetime({ offset: true }).optional().meta({ description: 'end of the period, exclusive (default: now)' }),
  })
  .strict()
  .meta({ description: `a period of at most ${MAX_EARNINGS_DAYS} days` });

const amount = z.string().regex(/^(0|[1-9]\d*)$/);
const signedAmount = z.string().regex(/^(0|-?[1-9]\d*)$/);

export const earningsOut = z
  .strictObject({
    wallet: z.string(),
    from: z.iso.datetime(),
    to: z.iso.datetime(),
    totals: z.strictObject({
      settledSales: z.number().int().meta({ description: 'purchases that paid this wallet in the period' }),
      settledMicroUsdc: amount,
      pendingSales: z.number().int(),
      pendingMicroUsdc: amount.meta({ description: 'known shares of paid purchases not settled yet (once their fee is captured)' }),
      clawbackMicroUsdc: amount.meta({ description: 'payouts of refunded or disputed purchases, booked in the period' }),
      netMicroUsdc: signedAmount.meta({ description: 'settled − clawbacks' }),
    }),
    lines: z.array(
      z.strictObject({
        kind: z.enum(['settled', 'pending', 'clawback']),
        purchaseId: z.string(),
        productId: z.string(),
        productTitle: z.string(),
        role: z.string(),
        shareBps: z.number().int(),
        amountMicroUsdc: amount.nullable().meta({ description: 'null while a pending purchase has no creator pool yet' }),
        purchaseStatus: z.string(),
        rail: z.string(),
        txId: z.string().nullable().meta({ description: 'the settlement transaction (Solana signature or EVM hash)' }),
        at: z.iso.datetime(),
      }),
    ),
  })
  .meta({ description: 'micro-USDC amounts as decimal strings' });

const EARNINGS_CSV_COLUMNS = [
  'kind',
  'purchaseId',
  'productId',
  'productTitle',
  'role',
  'shareBps',
  'amountMicroUsdc',
  'purchaseStatus',
  'rail',
  'txId',
  'at',
] as const;

function period(req: Request, now: Date): { from: Date; to: Date } {
  const q = earningsQuery.parse(req.query);
  const to = q.to ? new Date(q.to) : now;
  const from = q.from ? new Date(q.from) : new Date(to.getTime() - DEFAULT_EARNINGS_DAYS * DAY_MS);
  if (from.getTime() >= to.getTime()) throw new HttpError(400, ErrorType.ValidationFailed, '`from` must be before `to`');
  if (to.getTime() - from.getTime() > MAX_EARNINGS_DAYS * DAY_MS)
    throw new HttpError(400, ErrorType.ValidationFailed, `the period is longer than ${MAX_EARNINGS_DAYS} days`);
  return { from, to };
}

function earningsJson(e: Earnings): z.infer<typeof earningsOut> {
  const t = e.totals;
  return {
    wallet: e.wallet,
    from: e.from.toISOString(),
    to: e.to.toISOString(),
    totals: {
      settledSales: t.settledSales,
      settledMicroUsdc: t.settledMicroUsdc.toString(),
      pendingSales: t.pendingSales,
      pendingMicroUsdc: t.pendingMicroUsdc.toString(),
      clawbackMicroUsdc: t.clawbackMicroUsdc.toString(),
      netMicroUsdc: t.netMicroUsdc.toString(),
    },
    lines: e.lines.map((l) => ({ ...l, amountMicroUsdc: l.amountMicroUsdc?.toString() ?? null, at: l.at.toISOString() })),
  };
}

/** RFC 4180 cells; text a spreadsheet would run as a formula is prefixed with a quote. */
const cell = (v: string | number | null): string => {
  const s = v === null ? '' : String(v);
  const safe = /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
};

function earningsCsv(e: Earnings): string {
  const rows = earningsJson(e).lines.map((l) => EARNINGS_CSV_COLUMNS.map((c) => cell(l[c])).join(','));
  return [EARNINGS_CSV_COLUMNS.join(','), ...rows].join('\r\n') + '\r\n';
}

export function earningsHandlers(db: Db, now: () => Date) {
  const load = async (req: Request) => {
    const { wallet } = creatorWalletParam.parse(req.params);
    const { from, to } = period(req, now());
    return creatorEarnings(db, wallet, from, to);
  };
  return {
    json: async (req: Request, res: Response) => {
      const e = await load(req);
      res.set('Cache-Control', 'no-store').json(earningsJson(e));
    },
    csv: async (req: Request, res: Response) => {
      const e = await load(req);
      const name = `earnings-${e.wallet}-${e.from.toISOString().slice(0, 10)}-${e.to.toISOString().slice(0, 10)}.csv`;
      res
        .set('Cache-Control', 'no-store')
        .set('Content-Disposition', `attachment; filename="${name}"`)
        .type('text/csv')
        .send(earningsCsv(e));
    },
  };
}

/** Mounted under /admin, after adminAuth: any wallet. */
export function adminEarningsRouter({ db, now = () => new Date() }: { db: Db; now?: () => Date }): Router {
  const router = Router();
  const h = earningsHandlers(db, now);
  router.get('/creators/:wallet/earnings', h.json);
  router.get('/creators/:wallet/earnings.csv', h.csv);
  return router;
}
