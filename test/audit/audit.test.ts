/**
 * The auditor against a real engine: real PostgreSQL, the local Solana chain over JSON-RPC, anvil
 * with the contracts, a Temporal dev server. Purchases settle through the whole path; the audit is
 * clean; then a double payout (an extra treasury transfer on each chain), a missing payout (a payout
 * row with no transfer), an unbalanced journal and a leaked hold are planted, and the audit (and
 * `npm run audit`'s CLI) names each of them.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { Keypair, PublicKey } from '@solana/web3.js';
import { getAssociatedTokenAddressSync, getOrCreateAssociatedTokenAccount, transfer, TOKEN_PROGRAM_ID } from '@solana/spl-token';
import { Contract, JsonRpcProvider, Wallet } from 'ethers';
import { runAudit } from '../../src/audit/run';
import type { AuditDeps } from '../../src/audit/run';
import type { AuditReport, Finding } from '../../src/audit/types';
import { createEvmAuditReader } from '../../src/chains/evm/audit-reader';
import { testUsdcAbi } from '../../generated/evm/abi';
import { createSolanaAuditReader } from '../../src/chains/solana/audit-reader';
import { createAuditBooksReader } from '../../src/db/audit';
import { reserveTreasuryHold } from '../../src/db/ledger';
import { Rail } from '../../src/shared/status';
import { purchaseIdFromWorkflowId } from '../../src/shared/ids';
import { startEngine, type Engine, type PurchaseView } from '../helpers/engine';

const ROOT = path.resolve(__dirname, '..', '..');

let engine: Engine;
let provider: JsonRpcProvider;
let deps: AuditDeps;
const settled: PurchaseView[] = [];
let evmSettled: PurchaseView;

async function settle(rail: 'solana' | 'evm'): Promise<PurchaseView> {
  const collaborators =
    rail === 'evm'
      ? [
          { wallet: Wallet.createRandom().address, role: 'artist', shareBps: 7000 },
          { wallet: Wallet.createRandom().address, role: 'writer', shareBps: 3000 },
        ]
      : undefined;
  const product = await engine.createProduct({ rail, ...(collaborators ? { collaborators } : {}) });
  const refs = await engine.checkout(product.id, rail === 'evm' ? Wallet.createRandom().address : undefined);
  expect((await engine.pay(refs)).status).toBe(200);
  const view = await engine.waitForStatus(refs.purchaseId, ['settled', 'failed']);
  expect(view.status).toBe('settled');
  return view;
}

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const { config, chain } = engine;
  const env = {
    ...process.env,
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    DATA_DIR: chain.dataDir,
    DATABASE_URL: config.databaseUrl,
    SOLANA_RPC_URL: chain.rpcUrl,
    TREASURY_KEYPAIR_PATH: config.treasuryKeypairPath,
    USDC_MINT: chain.usdcMint.toBase58(),
    EVM_RPC_URL: config.evmRpcUrl,
    EVM_PRIVATE_KEY: config.EVM_PRIVATE_KEY,
    TEMPORAL_ADDRESS: config.temporalAddress,
  };
  // Asynchronous on purpose: the chain and the API run in this process and must keep answering.
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', path.join(ROOT, 'src/audit/cli.ts'), ...args],
      { cwd: ROOT, env, timeout: 90_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

const has = (report: AuditReport, expected: Partial<Finding>) =>
  expect(report.findings).toEqual(expect.arrayContaining([expect.objectContaining(expected)]));

beforeAll(async () => {
  engine = await startEngine({ evm: { treasuryMicroUsdc: 5_000_000_000n } });
  if (!engine.evm) throw new Error('engine started without the EVM rail');
  const { deployment } = engine.evm;
  provider = new JsonRpcProvider(engine.evm.anvil.rpcUrl, undefined, { staticNetwork: true });
  deps = {
    books: createAuditBooksReader(engine.db),
    chains: {
      solana: createSolanaAuditReader({
        connection: engine.chain.connection,
        treasury: engine.chain.treasury,
        usdcMint: engine.chain.usdcMint,
        pageSize: 2,
      }),
      evm: createEvmAuditReader({
        provider,
        usdc: deployment.usdc,
        splitter: deployment.splitter,
        fromBlock: deployment.splitterBlock,
        blockRange: 5,
      }),
    },
    openPurchaseRuns: async () => {
      const open = new Set<string>();
      for await (const wf of engine.temporal.client.workflow.list({
        query: `WorkflowType = 'purchaseWorkflow' AND ExecutionStatus = 'Running'`,
      })) {
        const id = purchaseIdFromWorkflowId(wf.workflowId);
        if (id) open.add(id);
      }
      return open;
    },
  };
  settled.push(await settle('solana'), await settle('solana'));
  evmSettled = await settle('evm');
});

afterAll(async () => {
  provider?.destroy();
  await engine?.close();
});

it('the local chain reports settlement token balance changes in the Solana RPC format', async () => {
  const view = settled[0] as PurchaseView;
  const tx = await engine.chain.connection.getTransaction(view.settlement.txId ?? '', {
    maxSupportedTransactionVersion: 0,
    commitment: 'confirmed',
  });
  const post = tx?.meta?.postTokenBalances ?? [];
  const pre = tx?.meta?.preTokenBalances ?? [];
  const usdc = engine.chain.usdcMint.toBase58();
  const treasuryPre = pre.find((b) => b.owner === engine.chain.treasury.toBase58() && b.mint === usdc);
  const treasuryPost = post.find((b) => b.owner === engine.chain.treasury.toBase58() && b.mint === usdc);
  expect(treasuryPost).toEqual({
    accountIndex: treasuryPre?.accountIndex,
    mint: usdc,
    owner: engine.chain.treasury.toBase58(),
    programId: TOKEN_PROGRAM_ID.toBase58(),
    uiTokenAmount: expect.objectContaining({ decimals: 6 }),
  });
  expect(BigInt(treasuryPre?.uiTokenAmount.amount ?? '0') - BigInt(treasuryPost?.uiTokenAmount.amount ?? '0')).toBe(21_580_000n);
  const artist = post.find((b) => b.owner === view.payouts[0]?.wallet && b.mint === usdc);
  expect(artist?.uiTokenAmount).toEqual({ amount: '12948000', decimals: 6, uiAmount: 12.948, uiAmountString: '12.948' });
  // The buyer's account was created by the settlement: absent before, holding the NFT after.
  const nft = post.find((b) => b.mint === view.settlement.nftId);
  expect(nft).toMatchObject({ uiTokenAmount: { amount: '1', decimals: 0, uiAmount: 1, uiAmountString: '1' } });
  expect(pre.find((b) => b.mint === view.settlement.nftId)).toBeUndefined();
});

it('settled books on both chains audit clean, and the CLI exits 0', async () => {
  const report = await runAudit(deps);
  expect(report.findings).toEqual([]);
  expect(report).toMatchObject({ ok: true, railsChecked: ['solana', 'evm'], runsChecked: true });
  expect(report.counts).toMatchObject({ purchasesChecked: 3, settlementsVerified: 3, walletsChecked: 3 + 3 + 2 });
  const run = await cli(['--json']);
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  expect(JSON.parse(run.stdout)).toMatchObject({ ok: true, counts: { settlementsVerified: 3 } });
});

it('names a double payout on each chain, a missing payout, an unbalanced journal and a leaked hold; the CLI exits 1 naming them', async () => {
  const [first, second] = settled as [PurchaseView, PurchaseView];
  const { chain, db } = engine;

  // 1. Double payout: the treasury sends an artist 1 USDC more, outside any settlement.
  const artist = new PublicKey(first.payouts[0]?.wallet ?? '');
  const artistAta = getAssociatedTokenAddressSync(chain.usdcMint, artist, true, TOKEN_PROGRAM_ID);
  const treasuryAta = getAssociatedTokenAddressSync(chain.usdcMint, chain.treasury, true, TOKEN_PROGRAM_ID);
  const extraSolanaTx = await transfer(chain.connection, chain.treasuryKeypair, treasuryAta, artistAta, chain.treasuryKeypair, 1_000_000n);
  const evmArtist = evmSettled.payouts[0]?.wallet ?? '';
  const usdc = new Contract(engine.evm?.deployment.usdc ?? '', testUsdcAbi, new Wallet(engine.config.EVM_PRIVATE_KEY, provider));
  const sent = (await usdc.getFunction('transfer')(evmArtist, 2_000_000n)) as { hash: string; wait(): Promise<unknown> };
  await sent.wait();

  // 2. Missing payout: a payout row for a wallet the settlement never paid.
  const unpaid = Keypair.generate().publicKey.toBase58();
  await getOrCreateAssociatedTokenAccount(chain.connection, chain.treasuryKeypair, chain.usdcMint, new PublicKey(unpaid));
  await db.collaboratorPayment.create({
    data: {
      id: `cpay_planted_${Date.now()}`,
      purchaseId: second.purchaseId,
      position: 9,
      wallet: unpaid,
      role: 'ghost',
      shareBps: 1,
      amountMicroUsdc: 500_000n,
      rail: Rail.Solana,
      txId: second.settlement.txId ?? '',
    },
  });

  // 3. Unbalanced journal: one entry of the first purchase's settlement journal is off by one.
  const journal = await db.journalTransaction.findFirstOrThrow({
    where: { purchaseId: first.purchaseId, kind: 'purchase_settled' },
    include: { entries: true },
  });
  const fee = journal.entries.find((e) => e.accountCode === 'stripe:fees');
  await db.journalEntry.update({ where: { id: fee?.id ?? 0n }, data: { amountMicro: (fee?.amountMicro ?? 0n) + 1n } });

  // 4. Leaked hold: a purchase that failed while its reservation stayed pending.
  const productId = (await db.purchase.findUniqueOrThrow({ where: { id: first.purchaseId } })).productId;
  const leaked = `pur_leaked_${Date.now().toString(36)}`;
  await db.purchase.create({
    data: {
      id: leaked,
      productId,
      buyerWallet: Keypair.generate().publicKey.toBase58(),
      rail: Rail.Solana,
      status: 'failed',
      grossCents: 2500n,
    },
  });
  expect(
    (
      await reserveTreasuryHold(db, {
        purchaseId: leaked,
        rail: Rail.Solana,
        amountMicro: 3_000_000n,
        expiresAt: new Date(Date.now() + 86_400_000),
      })
    ).outcome,
  ).toBe('reserved');

  const report = await runAudit(deps);
  expect(report.ok).toBe(false);
  has(report, {
    code: 'double_payout',
    rail: 'solana',
    wallet: artist.toBase58(),
    txId: extraSolanaTx,
    expected: '12948000',
    actual: '13948000',
  });
  has(report, { code: 'double_payout', rail: 'evm', wallet: evmArtist.toLowerCase(), txId: sent.hash });
  has(report, { code: 'missing_payout', rail: 'solana', wallet: unpaid, purchaseId: second.purchaseId, expected: '500000', actual: '0' });
  has(report, { code: 'unbalanced_journal', purchaseId: first.purchaseId, reference: journal.id, actual: '1' });
  has(report, { code: 'leaked_hold', purchaseId: leaked, rail: 'solana' });
  // Consequences of the same plants, and nothing else.
  has(report, {
    code: 'treasury_balance_mismatch',
    rail: 'solana',
    actual: (await chain.connection.getTokenAccountBalance(treasuryAta)).value.amount,
  });
  has(report, { code: 'treasury_balance_mismatch', rail: 'evm' });
  has(report, { code: 'settlement_mismatch', purchaseId: second.purchaseId, wallet: unpaid });
  expect(new Set(report.findings.map((f) => f.code))).toEqual(
    new Set([
      'double_payout',
      'missing_payout',
      'unbalanced_journal',
      'leaked_hold',
      'treasury_balance_mismatch',
      'settlement_mismatch',
      'payout_sum_mismatch',
      'account_balance_drift',
      'settlement_journal_mismatch',
    ]),
  );

  const human = await cli([]);
  expect(human.code).toBe(1);
  for (const code of ['double_payout', 'missing_payout', 'unbalanced_journal', 'leaked_hold']) expect(human.stdout).toContain(code);
  expect(human.stdout).toContain(unpaid);
  expect(human.stdout).toContain(leaked);
  const json = await cli(['--json']);
  expect(json.code).toBe(1);
  const parsed = JSON.parse(json.stdout) as AuditReport;
  expect(parsed.findings.map((f) => f.code).sort()).toEqual(report.findings.map((f) => f.code).sort());
});
