/**
 * `npm run demo`, against a running `npm start`: one purchase through checkout, the buyer's card at
 * the dev Stripe's Checkout page (the endpoint its Pay button calls), the signed webhook the dev
 * Stripe then sends to the API, and a human summary of what moved where.
 */
import { Connection, Keypair } from '@solana/web3.js';
import { Wallet } from 'ethers';
import { createSettlementProgram, findReceiptAddress, programIdFromConfig } from '../src/chains/solana-anchor';
import { loadConfig } from '../src/config';
import { createDevStripeClient, DevStripeError, eventOf } from './dev-stripe/client';

const config = loadConfig();
const base = `http://127.0.0.1:${config.PORT}`;
const admin = { authorization: `Bearer ${config.ADMIN_TOKEN}` };
/**
 * `npm run demo -- --rail evm` settles on anvil instead of the local Solana chain; `--rail
 * solana-anchor` through the settlement program the stack deployed there.
 */
const rail = process.argv.includes('--rail') ? process.argv[process.argv.indexOf('--rail') + 1] : 'solana';
if (rail !== 'solana' && rail !== 'solana-anchor' && rail !== 'evm') throw new Error('--rail must be solana, solana-anchor or evm');
const DEMO_TITLE = { solana: 'Demo track', 'solana-anchor': 'Demo track (Anchor program)', evm: 'Demo track (EVM)' }[rail];
const newWallet = () => (rail === 'evm' ? Wallet.createRandom().address : Keypair.generate().publicKey.toBase58());

async function call<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

interface Product {
  id: string;
  title: string;
  rail: string;
  priceCents: string;
  collaborators: { wallet: string; role: string; shareBps: number }[];
}

const usdc = (micro: string | null) => (micro === null ? '?' : `${micro.slice(0, -6) || '0'}.${micro.slice(-6).padStart(6, '0')} USDC`);
/** basis points as a percentage with two decimals, in integer arithmetic */
const percent = (bps: number) => `${Math.trunc(bps / 100)}.${String(bps % 100).padStart(2, '0')}`;
const usd = (cents: string | null) => (cents === null ? '?' : `$${cents.slice(0, -2) || '0'}.${cents.slice(-2).padStart(2, '0')}`);

async function main(): Promise<void> {
  await call('GET', '/readyz').catch(() => {
    throw new Error(`the engine is not ready at ${base}: start it with \`npm start\` first`);
  });
  const { products } = await call<{ products: Product[] }>('GET', '/admin/products', undefined, admin);
  let product = products.find((p) => p.title === DEMO_TITLE && p.rail === rail);
  if (!product) {
    product = await call<Product>(
      'POST',
      '/admin/products',
      {
        title: DEMO_TITLE,
        priceCents: '2500',
        rail,
        nftSymbol: 'DEMO',
        nftUri: 'https://example.com/demo-track.json',
        collaborators: [
          { wallet: newWallet(), role: 'artist', shareBps: 6000 },
          { wallet: newWallet(), role: 'producer', shareBps: 3000 },
          { wallet: newWallet(), role: 'writer', shareBps: 1000 },
        ],
      },
      admin,
    );
    console.log(`created product ${product.id} (${product.title}, ${usd(product.priceCents)})`);
  }
  const buyerWallet = newWallet();
  const checkout = await call<{ purchaseId: string; checkoutSessionId: string; checkoutUrl: string }>('POST', '/api/checkout/sessions', {
    productId: product.id,
    buyerWallet,
  });
  console.log(`checkout session ${checkout.checkoutSessionId} for purchase ${checkout.purchaseId}`);
  console.log(`  checkout page: ${checkout.checkoutUrl}`);

  // The buyer presses Pay on the Checkout page; the dev Stripe then signs and sends the webhooks itself.
  const devStripe = createDevStripeClient(config.STRIPE_API_BASE ?? `http://127.0.0.1:${config.STRIPE_MOCK_PORT}`);
  const paid = await devStripe.pay(checkout.checkoutSessionId);
  const event = eventOf(paid.events, 'checkout.session.completed');
  const delivery = await devStripe.delivered(event.id).catch((err: unknown) => {
    if (err instanceof DevStripeError && err.code === 'webhooks_not_configured') {
      throw new Error(`the dev Stripe at ${devStripe.baseUrl} sends no webhooks: it runs under \`npm start\` with --webhook-url`);
    }
    throw err;
  });
  console.log(
    `webhook ${event.type} ${event.id}: sent by the dev Stripe, HTTP ${delivery.lastStatus ?? '?'} on attempt ${delivery.attempts}`,
  );

  const deadline = Date.now() + 120_000;
  let view: Record<string, unknown> & { status: string } = { status: 'pending_payment' };
  let last = '';
  while (Date.now() < deadline) {
    view = await call('GET', `/api/purchases/${checkout.purchaseId}`);
    if (view.status !== last) console.log(`  status: ${(last = view.status)}`);
    if (['settled', 'failed', 'refunded', 'disputed', 'awaiting_approval', 'awaiting_treasury'].includes(view.status)) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  const v = view as unknown as {
    status: string;
    grossCents: string;
    stripeFeeCents: string;
    netCents: string;
    platformFeeCents: string;
    creatorPoolMicroUsdc: string;
    payouts: { wallet: string; role: string; shareBps: number; amountMicroUsdc: string | null }[];
    settlement: { rail: string; txId: string | null; nftId: string | null };
    failure: { type: string; message: string } | null;
  };
  console.log('');
  console.log(`Purchase ${checkout.purchaseId}: ${v.status.toUpperCase()}`);
  console.log(
    `  buyer paid ${usd(v.grossCents)}; Stripe fee ${usd(v.stripeFeeCents)} (from the balance transaction); net ${usd(v.netCents)}`,
  );
  console.log(`  platform fee ${usd(v.platformFeeCents)}; creator pool ${usdc(v.creatorPoolMicroUsdc)} fronted from the treasury`);
  for (const p of v.payouts)
    console.log(`  → ${p.role.padEnd(9)} ${percent(p.shareBps).padStart(6)}%  ${usdc(p.amountMicroUsdc).padStart(16)}  to ${p.wallet}`);
  console.log(`  NFT ${v.settlement.nftId ?? '-'} minted to ${buyerWallet}`);
  console.log(`  one ${v.settlement.rail} transaction: ${v.settlement.txId ?? '-'}`);
  if (rail === 'solana-anchor' && v.settlement.txId) await printProgramSettlement(checkout.purchaseId, v.settlement.txId);
  if (v.failure) console.log(`  failure: ${v.failure.type}: ${v.failure.message}`);
  console.log(`  Temporal UI: ${config.temporalUiUrl}/namespaces/${config.TEMPORAL_NAMESPACE}/workflows/purchase-${checkout.purchaseId}`);
  if (v.status !== 'settled') process.exitCode = 1;
}

/** What the settlement program left on chain: the receipt PDA and the compute units it took. */
async function printProgramSettlement(purchaseId: string, txId: string): Promise<void> {
  const programId = programIdFromConfig(config);
  const connection = new Connection(config.solanaRpcUrl, config.SOLANA_COMMITMENT);
  const [receiptKey] = findReceiptAddress(programId, purchaseId);
  const info = await connection.getAccountInfo(receiptKey);
  if (info === null) {
    console.log(`  receipt ${receiptKey.toBase58()}: MISSING`);
    process.exitCode = 1;
    return;
  }
  const receipt: unknown = createSettlementProgram(programId).coder.accounts.decode('receipt', info.data);
  const fields = typeof receipt === 'object' && receipt !== null && 'pool' in receipt && 'splitCount' in receipt ? receipt : undefined;
  console.log(
    `  receipt ${receiptKey.toBase58()} (program ${programId.toBase58()}): pool ${String(fields?.pool ?? '?')} micro-USDC, ${String(fields?.splitCount ?? '?')} splits, ${info.data.length} bytes`,
  );
  const tx = await connection.getTransaction(txId, { commitment: 'confirmed', maxSupportedTransactionVersion: 0 });
  const units = tx?.meta?.computeUnitsConsumed;
  const programLine = tx?.meta?.logMessages?.find((l) => l.startsWith(`Program ${programId.toBase58()} consumed `));
  console.log(
    `  compute units: ${units ?? '?'} for the transaction${programLine ? `; ${programLine.replace(/^Program \S+ /, 'the program ')}` : ''}`,
  );
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
