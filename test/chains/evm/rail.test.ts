/** The EVM rail end to end against a throwaway anvil: deploy, settle, duplicates, faults, concurrency. */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Contract, JsonRpcProvider, Wallet, type ContractRunner } from 'ethers';
import { createEvmRail, purchaseKey, type EvmDeployment } from '../../../src/chains/evm';
import { deployEvmContracts } from '../../../src/chains/evm/deploy';
import { settlementSplitterAbi, testUsdcAbi } from '../../../generated/evm/abi';
import { toDomainError } from '../../../src/chains/evm/errors';
import type { SettlementAttempt, SettlementJournal, SettlementRequest } from '../../../src/chains/rail';
import { DomainError, ErrorType, isDomainError } from '../../../src/shared/errors';
import { startFaultProxy } from '../../../dev/chaos/fault-proxy';
import { startAnvil, type Anvil } from '../../helpers/anvil';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const FUNDING = 1_000_000_000n; // 1,000 USDC

class MemoryJournal implements SettlementJournal {
  readonly rows: SettlementAttempt[] = [];
  async recordAttempt(attempt: Omit<SettlementAttempt, 'createdAt'>): Promise<void> {
    this.rows.push({ ...attempt, createdAt: new Date() });
  }
  async attempts(purchaseId: string): Promise<SettlementAttempt[]> {
    return this.rows.filter((r) => r.purchaseId === purchaseId);
  }
}

async function expectDomainError(p: Promise<unknown>, type: string): Promise<DomainError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DomainError);
  expect((err as DomainError).type).toBe(type);
  return err as DomainError;
}

let anvil: Anvil;
let provider: JsonRpcProvider;
let deployment: EvmDeployment;
let tmp: string;
let admin: Wallet;
let treasury: Wallet;
let settler: Wallet;
let outsider: Wallet;
let usdc: Contract;
let splitter: Contract;

const railFor = (key: string) =>
  createEvmRail({
    rpcUrl: anvil.rpcUrl,
    settlerKey: key,
    contracts: { splitter: deployment.splitter, usdc: deployment.usdc },
    confirmations: 1,
    maxFeeGwei: 100,
  });

const balanceOf = async (addr: string): Promise<bigint> => (await usdc.getFunction('balanceOf')(addr)) as bigint;
const request = (purchaseId: string, payouts: Array<[string, bigint]>, buyer = Wallet.createRandom().address): SettlementRequest => ({
  purchaseId,
  buyerWallet: buyer,
  nft: { name: 'Receipt', symbol: 'RCPT', uri: `ipfs://receipt/${purchaseId}` },
  payouts: payouts.map(([wallet, amountMicroUsdc]) => ({ wallet, amountMicroUsdc })),
});
const as = (c: Contract, runner: ContractRunner) => c.connect(runner) as Contract;

beforeAll(async () => {
  if (!fs.existsSync(path.join(ROOT, 'contracts', 'out'))) {
    execFileSync(path.join(ROOT, 'node_modules', '.bin', 'tsx'), ['scripts/compile-contracts.ts'], { cwd: ROOT, stdio: 'inherit' });
  }
  anvil = await startAnvil();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'evm-rail-'));
  provider = new JsonRpcProvider(anvil.rpcUrl, 31337, { staticNetwork: true, pollingInterval: 200, cacheTimeout: -1 });
  const [k0, k1, k2, k3] = anvil.keys;
  admin = new Wallet(k0!, provider);
  treasury = new Wallet(k1!, provider);
  settler = new Wallet(k2!, provider);
  outsider = new Wallet(k3!, provider);
  deployment = await deployEvmContracts({
    rpcUrl: anvil.rpcUrl,
    deployerKey: admin.privateKey,
    treasuryKey: treasury.privateKey,
    settlerAddress: settler.address,
    deploymentsFile: path.join(tmp, 'deployments-31337.json'),
    treasuryFundingMicroUsdc: FUNDING,
  });
  usdc = new Contract(deployment.usdc, testUsdcAbi, provider);
  splitter = new Contract(deployment.splitter, settlementSplitterAbi, provider);
});

afterAll(async () => {
  provider?.destroy();
  await anvil?.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('deployEvmContracts', () => {
  it('records the deployment, grants the role, funds and approves', async () => {
    expect(deployment).toMatchObject({
      chainId: 31337,
      testUsdc: true,
      treasury: treasury.address,
      settler: settler.address,
      admin: admin.address,
    });
    expect(await balanceOf(treasury.address)).toBe(FUNDING);
    const role = (await splitter.getFunction('SETTLER_ROLE')()) as string;
    expect(await splitter.getFunction('hasRole')(role, settler.address)).toBe(true);
    expect(await splitter.getFunction('treasury')()).toBe(treasury.address);
    expect(await usdc.getFunction('decimals')()).toBe(6n);
  });

  it('is idempotent: a second run reuses the recorded contracts', async () => {
    const again = await deployEvmContracts({
      rpcUrl: anvil.rpcUrl,
      deployerKey: admin.privateKey,
      treasuryKey: treasury.privateKey,
      settlerAddress: settler.address,
      deploymentsFile: path.join(tmp, 'deployments-31337.json'),
      treasuryFundingMicroUsdc: FUNDING,
    });
    expect(again.splitter).toBe(deployment.splitter);
    expect(again.usdc).toBe(deployment.usdc);
    expect(await balanceOf(treasury.address)).toBe(FUNDING);
  });
});

describe('EVM rail', () => {
  it('validates wallets', () => {
    const rail = railFor(settler.privateKey);
    const addr = Wallet.createRandom().address;
    expect(rail.isValidWallet(addr)).toBe(true);
    expect(rail.isValidWallet(addr.toLowerCase())).toBe(true);
    expect(rail.isValidWallet('0x0000000000000000000000000000000000000000')).toBe(false);
    expect(rail.isValidWallet('0x123')).toBe(false);
    expect(rail.isValidWallet('So11111111111111111111111111111111111111112')).toBe(false);
  });

  it('rejects an invalid buyer wallet before touching the chain', async () => {
    const rail = railFor(settler.privateKey);
    await expectDomainError(
      rail.settle(request('bad-wallet-1', [[Wallet.createRandom().address, 1n]], 'not-a-wallet'), new MemoryJournal()),
      ErrorType.InvalidWallet,
    );
  });

  it('a journal that fails (the database restarting) is a retryable failure, never a rejection, and moves nothing', async () => {
    // Found by the chaos run: a PostgreSQL restart during the journal read was reported as a
    // non-retryable settlement_rejected, which would have failed the purchase before its pivot.
    const rail = railFor(settler.privateKey);
    const payee = Wallet.createRandom().address;
    const down: SettlementJournal = {
      recordAttempt: () => Promise.reject(new Error('the database system is shutting down')),
      attempts: () => Promise.reject(new Error('the database system is shutting down')),
    };
    const err = await rail.settle(request('purchase-db-down-1', [[payee, 1_000n]]), down).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(Error);
    expect(isDomainError(err, ErrorType.SettlementRejected)).toBe(false);
    expect(await balanceOf(payee)).toBe(0n);
    // Once the database is back, the same purchase settles.
    const result = await rail.settle(request('purchase-db-down-1', [[payee, 1_000n]]), new MemoryJournal());
    expect(result.alreadySettled).toBe(false);
    expect(await balanceOf(payee)).toBe(1_000n);
  });

  it('a journal write that fails just before the send is retryable too, and nothing is sent', async () => {
    // Found by the 1,000-purchase chaos run: a PostgreSQL restart during recordAttempt (inside the
    // nonce lock, before broadcasting) failed five purchases as settlement_rejected.
    const rail = railFor(settler.privateKey);
    const payee = Wallet.createRandom().address;
    const journal = new MemoryJournal();
    const writeDown: SettlementJournal = {
      recordAttempt: () => Promise.reject(new Error("Can't reach database server at 127.0.0.1:5432")),
      attempts: (id) => journal.attempts(id),
    };
    const nonceBefore = await provider.getTransactionCount(settler.address);
    const err = await rail.settle(request('purchase-db-down-2', [[payee, 2_000n]]), writeDown).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(Error);
    expect(isDomainError(err)).toBe(false);
    expect(await provider.getTransactionCount(settler.address)).toBe(nonceBefore);
    expect(await balanceOf(payee)).toBe(0n);
    const result = await rail.settle(request('purchase-db-down-2', [[payee, 2_000n]]), journal);
    expect(result.alreadySettled).toBe(false);
    expect(await balanceOf(payee)).toBe(2_000n);
  });

  it('settles: exact balances, receipt NFT, journalled tx', async () => {
    const rail = railFor(settler.privateKey);
    const journal = new MemoryJournal();
    const [a, b] = [Wallet.createRandom().address, Wallet.createRandom().address];
    const buyer = Wallet.createRandom().address;
    const before = await balanceOf(treasury.address);
    expect(await rail.treasuryBalanceMicroUsdc()).toBe(before);

    const result = await rail.settle(
      request(
        'purchase-happy-1',
        [
          [a, 1_234_567n],
          [b, 765_433n],
        ],
        buyer,
      ),
      journal,
    );

    expect(result.alreadySettled).toBe(false);
    expect(result.txId).toMatch(/^0x[0-9a-f]{64}$/);
    expect(journal.rows.map((r) => r.txId)).toContain(result.txId);
    expect(await balanceOf(a)).toBe(1_234_567n);
    expect(await balanceOf(b)).toBe(765_433n);
    expect(await balanceOf(treasury.address)).toBe(before - 2_000_000n);
    expect(await rail.treasuryBalanceMicroUsdc()).toBe(before - 2_000_000n);
    expect(await splitter.getFunction('ownerOf')(BigInt(result.nftId))).toBe(buyer);
    expect(await splitter.getFunction('tokenURI')(BigInt(result.nftId))).toBe('ipfs://receipt/purchase-happy-1');
    expect(await splitter.getFunction('settled')(purchaseKey('purchase-happy-1'))).toBe(true);
    expect(((await splitter.getFunction('tokenIdOf')(purchaseKey('purchase-happy-1'))) as bigint).toString()).toBe(result.nftId);
    const receipt = await provider.getTransactionReceipt(result.txId);
    expect(receipt?.status).toBe(1);
  });

  it('treats a duplicate as already settled, and the contract reverts with Settlement__AlreadySettled', async () => {
    const rail = railFor(settler.privateKey);
    const journal = new MemoryJournal();
    const payee = Wallet.createRandom().address;
    const first = await rail.settle(request('purchase-dup-1', [[payee, 500n]]), journal);
    const treasuryAfter = await balanceOf(treasury.address);

    const sameJournal = await rail.settle(request('purchase-dup-1', [[payee, 500n]]), journal);
    expect(sameJournal).toEqual({ txId: first.txId, nftId: first.nftId, alreadySettled: true });
    // No journal (e.g. the record was lost): the chain still answers with the original tx.
    const freshJournal = new MemoryJournal();
    const noJournal = await rail.settle(request('purchase-dup-1', [[payee, 500n]]), freshJournal);
    expect(noJournal).toEqual({ txId: first.txId, nftId: first.nftId, alreadySettled: true });
    expect(freshJournal.rows).toHaveLength(0);
    expect(await balanceOf(payee)).toBe(500n);
    expect(await balanceOf(treasury.address)).toBe(treasuryAfter);

    const direct = as(splitter, settler).getFunction('settle');
    const err = await direct.staticCall(purchaseKey('purchase-dup-1'), payee, 'x', [payee], [1n]).catch((e: unknown) => e);
    expect((err as { revert?: { name: string; args: unknown[] } }).revert?.name).toBe('Settlement__AlreadySettled');
    expect((err as { revert: { args: unknown[] } }).revert.args[0]).toBe(purchaseKey('purchase-dup-1'));
  });

  it('insufficient allowance: typed error, nothing sent, nothing moves', async () => {
    const rail = railFor(settler.privateKey);
    const journal = new MemoryJournal();
    const payee = Wallet.createRandom().address;
    await (await as(usdc, treasury).getFunction('approve')(deployment.splitter, 10n)).wait();
    const before = await balanceOf(treasury.address);
    try {
      const err = await expectDomainError(
        rail.settle(request('purchase-allow-1', [[payee, 11n]]), journal),
        ErrorType.InsufficientTreasury,
      );
      expect(err.details).toMatchObject({ allowanceMicroUsdc: '10', needMicroUsdc: '11' });
      expect(journal.rows).toHaveLength(0);
      // Bypassing the preflight, the contract's own revert maps to the same type.
      const raw = await as(splitter, settler)
        .getFunction('settle')
        .staticCall(purchaseKey('purchase-allow-1'), payee, 'x', [payee], [11n])
        .catch((e: unknown) => e);
      expect(toDomainError(raw, 'settle').type).toBe(ErrorType.InsufficientTreasury);
      expect(toDomainError(raw, 'settle').details).toMatchObject({ revert: 'ERC20InsufficientAllowance' });
    } finally {
      await (await as(usdc, treasury).getFunction('approve')(deployment.splitter, 2n ** 256n - 1n)).wait();
    }
    expect(await balanceOf(payee)).toBe(0n);
    expect(await balanceOf(treasury.address)).toBe(before);
    expect(await splitter.getFunction('settled')(purchaseKey('purchase-allow-1'))).toBe(false);
  });

  it('insufficient balance: typed error, nothing moves', async () => {
    const rail = railFor(settler.privateKey);
    const journal = new MemoryJournal();
    const payee = Wallet.createRandom().address;
    const before = await balanceOf(treasury.address);
    await expectDomainError(
      rail.settle(
        request('purchase-bal-1', [
          [payee, 1n],
          [payee, before],
        ]),
        journal,
      ),
      ErrorType.InsufficientTreasury,
    );
    const raw = await as(splitter, settler)
      .getFunction('settle')
      .staticCall(purchaseKey('purchase-bal-1'), payee, 'x', [payee, payee], [1n, before])
      .catch((e: unknown) => e);
    expect(toDomainError(raw, 'settle').details).toMatchObject({ revert: 'ERC20InsufficientBalance' });
    expect(journal.rows).toHaveLength(0);
    expect(await balanceOf(payee)).toBe(0n);
    expect(await balanceOf(treasury.address)).toBe(before);
  });

  it('an unauthorised caller is reverted', async () => {
    const payee = Wallet.createRandom().address;
    const err = await as(splitter, outsider)
      .getFunction('settle')
      .staticCall(purchaseKey('purchase-unauth-1'), payee, 'x', [payee], [1n])
      .catch((e: unknown) => e);
    expect((err as { revert?: { name: string } }).revert?.name).toBe('AccessControlUnauthorizedAccount');
    const journal = new MemoryJournal();
    const e = await expectDomainError(
      railFor(outsider.privateKey).settle(request('purchase-unauth-1', [[payee, 1n]]), journal),
      ErrorType.SettlementRejected,
    );
    expect(e.details).toMatchObject({ revert: 'AccessControlUnauthorizedAccount' });
    expect(journal.rows).toHaveLength(0);
    expect(await balanceOf(payee)).toBe(0n);
  });

  it('a paused splitter rejects settlement', async () => {
    const payee = Wallet.createRandom().address;
    await (await as(splitter, admin).getFunction('pause')()).wait();
    try {
      const e = await expectDomainError(
        railFor(settler.privateKey).settle(request('purchase-paused-1', [[payee, 1n]]), new MemoryJournal()),
        ErrorType.SettlementRejected,
      );
      expect(e.details).toMatchObject({ revert: 'EnforcedPause' });
    } finally {
      await (await as(splitter, admin).getFunction('unpause')()).wait();
    }
    expect(await balanceOf(payee)).toBe(0n);
  });

  it('rejects mismatched lengths and empty recipients with typed custom errors', async () => {
    const payee = Wallet.createRandom().address;
    const settle = as(splitter, settler).getFunction('settle');
    const mismatch = await settle.staticCall(purchaseKey('len-1'), payee, 'x', [payee], [1n, 2n]).catch((e: unknown) => e);
    expect((mismatch as { revert?: { name: string; args: unknown[] } }).revert).toMatchObject({
      name: 'Settlement__LengthMismatch',
      args: [1n, 2n],
    });
    const empty = await settle.staticCall(purchaseKey('len-2'), payee, 'x', [], []).catch((e: unknown) => e);
    expect((empty as { revert?: { name: string } }).revert?.name).toBe('Settlement__NoRecipients');
  });

  it('20 concurrent settlements from one signer all land', async () => {
    const rail = railFor(settler.privateKey);
    const journal = new MemoryJournal();
    const payee = Wallet.createRandom().address;
    const before = await balanceOf(treasury.address);
    const ids = Array.from({ length: 20 }, (_, i) => `purchase-concurrent-${i}`);
    const results = await Promise.all(ids.map((id, i) => rail.settle(request(id, [[payee, BigInt(i + 1)]]), journal)));
    expect(results.every((r) => !r.alreadySettled)).toBe(true);
    expect(new Set(results.map((r) => r.nftId)).size).toBe(20);
    expect(new Set(results.map((r) => r.txId)).size).toBe(20);
    // one attempt per purchase: no nonce conflicts, no resends
    expect(journal.rows).toHaveLength(20);
    expect(new Set(journal.rows.map((r) => r.validUntil)).size).toBe(20);
    expect(await balanceOf(payee)).toBe(210n);
    expect(await balanceOf(treasury.address)).toBe(before - 210n);
  });

  it('a retry follows the journalled pending transaction instead of sending another', async () => {
    const journal = new MemoryJournal();
    const payee = Wallet.createRandom().address;
    await provider.send('evm_setAutomine', [false]);
    try {
      const first = railFor(settler.privateKey).settle(request('purchase-pending-1', [[payee, 7n]]), journal);
      while (journal.rows.length === 0) await new Promise((r) => setTimeout(r, 50));
      // A second worker (fresh rail, same journal) retries while the first tx is still in the mempool.
      const retry = railFor(settler.privateKey).settle(request('purchase-pending-1', [[payee, 7n]]), journal);
      await new Promise((r) => setTimeout(r, 300));
      await provider.send('evm_mine', []);
      const [a, b] = await Promise.all([first, retry]);
      expect(b.txId).toBe(a.txId);
      expect(b.nftId).toBe(a.nftId);
      expect(journal.rows).toHaveLength(1);
      expect(await balanceOf(payee)).toBe(7n);
    } finally {
      await provider.send('evm_setAutomine', [true]);
    }
  });

  it('a journalled transaction the node never saw (dropped) does not block a new send', async () => {
    const journal = new MemoryJournal();
    const payee = Wallet.createRandom().address;
    const nonce = await provider.getTransactionCount(settler.address, 'pending');
    await journal.recordAttempt({ purchaseId: 'purchase-dropped-1', txId: `0x${'ab'.repeat(32)}`, validUntil: BigInt(nonce) });
    const result = await railFor(settler.privateKey).settle(request('purchase-dropped-1', [[payee, 9n]]), journal);
    expect(result.alreadySettled).toBe(false);
    expect(journal.rows).toHaveLength(2);
    expect(journal.rows[1]?.validUntil).toBe(BigInt(nonce));
    expect(await balanceOf(payee)).toBe(9n);
  });

  it('a request the node did not answer (503) is tried again in place, not failed to Temporal', async () => {
    const proxy = await startFaultProxy({ target: anvil.rpcUrl });
    try {
      const rail = createEvmRail({
        rpcUrl: proxy.url,
        settlerKey: settler.privateKey,
        contracts: { splitter: deployment.splitter, usdc: deployment.usdc },
        confirmations: 1,
        maxFeeGwei: 100,
      });
      const expected = await balanceOf(deployment.treasury);
      proxy.failNext(2);
      await expect(rail.treasuryBalanceMicroUsdc()).resolves.toBe(expected);
      expect(proxy.counts.errors).toBe(2);
      const payee = Wallet.createRandom().address;
      proxy.failNext(1);
      const settled = await rail.settle(request('pur_rpc_retry_in_place', [[payee, 7n]]), new MemoryJournal());
      expect(settled.txId).toMatch(/^0x[0-9a-f]{64}$/);
      expect(proxy.counts.errors).toBe(3);
      expect(await balanceOf(payee)).toBe(7n);
    } finally {
      await proxy.close();
    }
  });

  it('an RPC that keeps failing still ends in RpcUnavailable after a few tries', async () => {
    const proxy = await startFaultProxy({ target: anvil.rpcUrl });
    try {
      const rail = createEvmRail({
        rpcUrl: proxy.url,
        settlerKey: settler.privateKey,
        contracts: { splitter: deployment.splitter, usdc: deployment.usdc },
        confirmations: 1,
        maxFeeGwei: 100,
      });
      proxy.setFaultRate(1);
      await expectDomainError(rail.treasuryBalanceMicroUsdc(), ErrorType.RpcUnavailable);
      expect(proxy.counts.errors).toBeGreaterThanOrEqual(3);
    } finally {
      await proxy.close();
    }
  });

  it('maps an unreachable RPC to RpcUnavailable', async () => {
    const rail = createEvmRail({
      rpcUrl: 'http://127.0.0.1:1',
      settlerKey: settler.privateKey,
      contracts: { splitter: deployment.splitter, usdc: deployment.usdc },
      confirmations: 1,
      maxFeeGwei: 100,
    });
    await expectDomainError(rail.ping(), ErrorType.RpcUnavailable);
    await expectDomainError(rail.treasuryBalanceMicroUsdc(), ErrorType.RpcUnavailable);
  });
});
