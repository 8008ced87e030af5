/**
 * The full purchase path through HTTP on an EVM product: admin creates the product, the buyer
 * checks out with an EVM address, Stripe's signed webhook starts the workflow, and the real worker
 * settles through SettlementSplitter on a throwaway anvil. The receipt must show exactly the
 * ERC-20 payouts from the treasury and the ERC-721 mint to the buyer.
 */
import { Keypair } from '@solana/web3.js';
import { Contract, getAddress, id, Interface, JsonRpcProvider, Wallet, ZeroAddress } from 'ethers';
import { settlementSplitterAbi, testUsdcAbi } from '../../generated/evm/abi';
import { checkoutSessionCompleted } from '../../dev/stripe-test-events';
import { Rail } from '../../src/shared/status';
import { startEngine, type Engine, type EngineEvm } from '../helpers/engine';

const FUNDING = 5_000_000_000n; // 5,000 USDC
const POOL = 21_580_000n; // $25.00 − 103¢ Stripe fee − 239¢ platform fee, in micro-USDC
const TRANSFER_TOPIC = id('Transfer(address,address,uint256)');
const erc20 = new Interface(['event Transfer(address indexed from, address indexed to, uint256 value)']);
const erc721 = new Interface(['event Transfer(address indexed from, address indexed to, uint256 indexed tokenId)']);

let engine: Engine;
let evm: EngineEvm;
let provider: JsonRpcProvider;
let usdc: Contract;
let splitter: Contract;

const usdcOf = async (address: string): Promise<bigint> => (await usdc.getFunction('balanceOf')(address)) as bigint;

beforeAll(async () => {
  engine = await startEngine({ evm: { treasuryMicroUsdc: FUNDING } });
  if (!engine.evm) throw new Error('engine started without the EVM rail');
  evm = engine.evm;
  provider = new JsonRpcProvider(evm.anvil.rpcUrl, undefined, { staticNetwork: true });
  usdc = new Contract(evm.deployment.usdc, testUsdcAbi, provider);
  splitter = new Contract(evm.deployment.splitter, settlementSplitterAbi, provider);
});
afterAll(async () => {
  provider?.destroy();
  await engine?.close();
});

it('a paid checkout on an EVM product settles once: exact ERC-20 payouts and the ERC-721 mint in one receipt, ledger balanced', async () => {
  expect(await usdcOf(evm.deployment.treasury)).toBe(FUNDING);
  const recipients = [Wallet.createRandom().address, Wallet.createRandom().address, Wallet.createRandom().address];
  const product = await engine.createProduct({
    rail: Rail.Evm,
    collaborators: [
      { wallet: recipients[0] ?? '', role: 'artist', shareBps: 6000 },
      { wallet: recipients[1] ?? '', role: 'producer', shareBps: 3000 },
      { wallet: recipients[2] ?? '', role: 'writer', shareBps: 1000 },
    ],
  });
  const buyer = Wallet.createRandom().address;
  const refs = await engine.checkout(product.id, buyer);
  expect((await engine.purchase(refs.purchaseId)).status).toBe('pending_payment');

  const completed = checkoutSessionCompleted(refs);
  const res = await engine.deliver(completed);
  expect(res.status).toBe(200);
  const view = await engine.waitForStatus(refs.purchaseId, ['settled', 'failed']);

  // Read model: the same money as on the Solana rail, paid to the EVM addresses.
  expect(view).toMatchObject({
    status: 'settled',
    grossCents: '2500',
    stripeFeeCents: '103',
    netCents: '2397',
    platformFeeCents: '239',
    creatorPoolMicroUsdc: POOL.toString(),
    settlement: { rail: Rail.Evm },
  });
  expect(view.payouts.map((p) => [getAddress(p.wallet), p.amountMicroUsdc])).toEqual([
    [recipients[0], '12948000'],
    [recipients[1], '6474000'],
    [recipients[2], '2158000'],
  ]);
  const txId = view.settlement.txId ?? '';
  const nftId = view.settlement.nftId ?? '';
  expect(txId).toMatch(/^0x[0-9a-f]{64}$/);
  expect(nftId).toMatch(/^[1-9][0-9]*$/);

  // Balances: each recipient holds exactly its payout, the treasury paid exactly the pool.
  const expected = [12_948_000n, 6_474_000n, 2_158_000n];
  for (const [i, r] of recipients.entries()) expect(await usdcOf(r)).toBe(expected[i]);
  expect(await usdcOf(evm.deployment.treasury)).toBe(FUNDING - POOL);
  expect(getAddress((await splitter.getFunction('ownerOf')(BigInt(nftId))) as string)).toBe(buyer);

  // The receipt: one settle call from the settler, three ERC-20 transfers and one ERC-721 mint.
  const receipt = await provider.getTransactionReceipt(txId);
  if (!receipt) throw new Error(`no receipt for ${txId}`);
  expect(receipt.status).toBe(1);
  expect(getAddress(receipt.to ?? '')).toBe(evm.deployment.splitter);
  expect(getAddress(receipt.from)).toBe(evm.deployment.settler);
  const transfers = receipt.logs.filter((l) => l.topics[0] === TRANSFER_TOPIC);
  expect(transfers).toHaveLength(4);
  const erc20Transfers = transfers
    .filter((l) => getAddress(l.address) === evm.deployment.usdc)
    .map((l) => erc20.parseLog({ topics: [...l.topics], data: l.data }))
    .map((e) => [getAddress(e?.args[0] as string), getAddress(e?.args[1] as string), e?.args[2] as bigint]);
  expect(erc20Transfers).toEqual([
    [evm.deployment.treasury, recipients[0], 12_948_000n],
    [evm.deployment.treasury, recipients[1], 6_474_000n],
    [evm.deployment.treasury, recipients[2], 2_158_000n],
  ]);
  const mints = transfers
    .filter((l) => getAddress(l.address) === evm.deployment.splitter)
    .map((l) => erc721.parseLog({ topics: [...l.topics], data: l.data }))
    .map((e) => [getAddress(e?.args[0] as string), getAddress(e?.args[1] as string), e?.args[2] as bigint]);
  expect(mints).toEqual([[ZeroAddress, buyer, BigInt(nftId)]]);

  // Ledger: every journal transaction sums to zero, the EVM treasury matches the chain.
  const sums = await engine.db.journalEntry.groupBy({ by: ['transactionId'], _sum: { amountMicro: true } });
  expect(sums.length).toBeGreaterThan(0);
  for (const s of sums) expect(s._sum.amountMicro).toBe(0n);
  const treasuryLedger = await engine.db.journalEntry.aggregate({ where: { accountCode: 'treasury:evm' }, _sum: { amountMicro: true } });
  expect(treasuryLedger._sum.amountMicro).toBe(FUNDING - POOL);
  const rows = await engine.db.collaboratorPayment.findMany({ where: { purchaseId: refs.purchaseId } });
  expect(rows).toHaveLength(3);
  expect(new Set(rows.map((r) => r.txId))).toEqual(new Set([txId]));
  expect((await engine.db.treasuryHold.findUniqueOrThrow({ where: { purchaseId: refs.purchaseId } })).status).toBe('posted');

  // A second delivery of the same event is acknowledged and changes nothing, on chain or off.
  const settlerNonce = await provider.getTransactionCount(evm.deployment.settler, 'latest');
  const again = await engine.deliver(completed);
  expect(again.status).toBe(200);
  expect(await again.json()).toMatchObject({ outcome: 'duplicate' });
  await new Promise((r) => setTimeout(r, 1_000));
  const after = await engine.purchase(refs.purchaseId);
  expect(after.status).toBe('settled');
  expect(after.settlement).toEqual(view.settlement);
  expect(after.payouts).toEqual(view.payouts);
  expect(await provider.getTransactionCount(evm.deployment.settler, 'latest')).toBe(settlerNonce);
  for (const [i, r] of recipients.entries()) expect(await usdcOf(r)).toBe(expected[i]);
  expect(await usdcOf(evm.deployment.treasury)).toBe(FUNDING - POOL);
  expect(await engine.db.collaboratorPayment.count({ where: { purchaseId: refs.purchaseId } })).toBe(3);
  expect(await engine.db.journalTransaction.count({ where: { purchaseId: refs.purchaseId, kind: 'purchase_settled' } })).toBe(1);
  const runs = [];
  for await (const wf of engine.temporal.client.workflow.list({ query: `WorkflowId = 'purchase-${refs.purchaseId}'` })) runs.push(wf);
  expect(runs).toHaveLength(1);
});

it('an EVM product refuses a Solana buyer wallet at checkout with 400 invalid_wallet', async () => {
  const product = await engine.createProduct({ rail: Rail.Evm });
  const purchasesBefore = await engine.db.purchase.count();
  const res = await engine.http('POST', '/api/checkout/sessions', {
    productId: product.id,
    buyerWallet: Keypair.generate().publicKey.toBase58(),
  });
  expect(res.status).toBe(400);
  expect(await res.json()).toMatchObject({ error: { type: 'invalid_wallet' } });
  expect(await engine.db.purchase.count()).toBe(purchasesBefore);
});
