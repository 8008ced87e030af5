/**
 * Read-only Solana access for the auditor: settlement transactions' token balance changes
 * (`getTransaction` pre/postTokenBalances), the NFT's current state, and the treasury USDC
 * account's whole history (`getSignaturesForAddress`, paged with `before`). Each transaction is
 * fetched once per audit.
 */
import { type Connection, type Finality, PublicKey, type TokenBalance } from '@solana/web3.js';
import { getAssociatedTokenAddressSync, unpackAccount, unpackMint } from '@solana/spl-token';
import { mapWithConcurrency } from '../../audit/pool';
import type { ChainAuditReader, SettlementObservation, SettlementToVerify, TreasuryTransfer } from '../../audit/types';

export interface SolanaAuditReaderDeps {
  connection: Connection;
  /** the treasury wallet (the owner of its USDC account) */
  treasury: PublicKey;
  usdcMint: PublicKey;
  commitment?: Finality;
  /** RPC calls in flight at once (default 8) */
  concurrency?: number;
  /** signatures per getSignaturesForAddress page (default 1000, the RPC maximum) */
  pageSize?: number;
}

interface TxView {
  ok: boolean;
  /** USDC change per owner wallet */
  usdc: Map<string, bigint>;
  /** mints this transaction created into an owner's account with amount 1: mint → owner */
  mintedTo: Map<string, string>;
}

const MULTIPLE_ACCOUNTS_MAX = 100;

function balanceChanges(
  pre: readonly TokenBalance[],
  post: readonly TokenBalance[],
): { mint: string; owner: string; before: bigint; after: bigint }[] {
  const byIndex = new Map<number, { mint: string; owner: string; before: bigint; after: bigint }>();
  for (const b of pre)
    byIndex.set(b.accountIndex, { mint: b.mint, owner: b.owner ?? '', before: BigInt(b.uiTokenAmount.amount), after: 0n });
  for (const b of post) {
    const row = byIndex.get(b.accountIndex) ?? { mint: b.mint, owner: b.owner ?? '', before: 0n, after: 0n };
    row.after = BigInt(b.uiTokenAmount.amount);
    row.owner = b.owner ?? row.owner;
    byIndex.set(b.accountIndex, row);
  }
  return [...byIndex.values()];
}

export function createSolanaAuditReader(deps: SolanaAuditReaderDeps): ChainAuditReader {
  const { connection } = deps;
  const commitment: Finality = deps.commitment ?? 'confirmed';
  const concurrency = deps.concurrency ?? 8;
  const usdcMint = deps.usdcMint.toBase58();
  const treasury = deps.treasury.toBase58();
  const txs = new Map<string, Promise<TxView | null>>();
  let treasuryAta: Promise<PublicKey> | undefined;

  const usdcAccount = (): Promise<PublicKey> =>
    (treasuryAta ??= (async () => {
      const info = await connection.getAccountInfo(deps.usdcMint, commitment);
      if (!info) throw new Error(`USDC mint ${usdcMint} does not exist on this chain`);
      return getAssociatedTokenAddressSync(deps.usdcMint, deps.treasury, true, info.owner);
    })());

  const view = (signature: string): Promise<TxView | null> => {
    let p = txs.get(signature);
    if (!p) {
      p = connection.getTransaction(signature, { maxSupportedTransactionVersion: 0, commitment }).then((tx) => {
        if (!tx) return null;
        const usdc = new Map<string, bigint>();
        const mintedTo = new Map<string, string>();
        for (const c of balanceChanges(tx.meta?.preTokenBalances ?? [], tx.meta?.postTokenBalances ?? [])) {
          if (c.mint === usdcMint && c.after !== c.before) usdc.set(c.owner, (usdc.get(c.owner) ?? 0n) + c.after - c.before);
          if (c.before === 0n && c.after === 1n) mintedTo.set(c.mint, c.owner);
        }
        return { ok: tx.meta?.err === null, usdc, mintedTo };
      });
      txs.set(signature, p);
    }
    return p;
  };

  const accountsInfo = async (keys: PublicKey[]) => {
    const chunks: PublicKey[][] = [];
    for (let i = 0; i < keys.length; i += MULTIPLE_ACCOUNTS_MAX) chunks.push(keys.slice(i, i + MULTIPLE_ACCOUNTS_MAX));
    return (await mapWithConcurrency(chunks, concurrency, (c) => connection.getMultipleAccountsInfo(c, commitment))).flat();
  };

  return {
    rail: 'solana',
    normaliseWallet: (w) => w,
    treasuryWallet: async () => treasury,

    async treasuryBalanceMicroUsdc() {
      const ata = await usdcAccount();
      const info = await connection.getAccountInfo(ata, commitment);
      return info ? unpackAccount(ata, info, info.owner).amount : 0n;
    },

    async observeSettlements(settlements: readonly SettlementToVerify[]) {
      const views = await mapWithConcurrency(settlements, concurrency, (s) => view(s.txId));
      const mints = settlements.map((s) => new PublicKey(s.nftId));
      const mintInfos = await accountsInfo(mints);
      const holders = settlements.map((s, i) => {
        const info = mintInfos[i];
        return info
          ? getAssociatedTokenAddressSync(mints[i] as PublicKey, new PublicKey(s.buyerWallet), true, info.owner)
          : PublicKey.default;
      });
      const holderInfos = await accountsInfo(holders);
      const out = new Map<string, SettlementObservation>();
      settlements.forEach((s, i) => {
        const v = views[i];
        const mintInfo = mintInfos[i];
        const holderInfo = holderInfos[i];
        const mint = mints[i] as PublicKey;
        let supply = 0n;
        let buyerBalance = 0n;
        if (mintInfo) {
          supply = unpackMint(mint, mintInfo, mintInfo.owner).supply;
          if (holderInfo && holderInfo.owner.equals(mintInfo.owner))
            buyerBalance = unpackAccount(holders[i] as PublicKey, holderInfo, holderInfo.owner).amount;
        }
        out.set(s.purchaseId, {
          status: v === null || v === undefined ? 'not_found' : v.ok ? 'ok' : 'failed',
          usdcDeltas: v?.usdc ?? new Map(),
          nft: {
            exists: mintInfo !== null && mintInfo !== undefined,
            supply,
            buyerBalance,
            mintedToBuyerInTx: v?.mintedTo.get(s.nftId) === s.buyerWallet,
          },
        });
      });
      return out;
    },

    async treasuryOutflows() {
      const ata = await usdcAccount();
      const signatures: string[] = [];
      let before: string | undefined;
      for (;;) {
        const page = await connection.getSignaturesForAddress(
          ata,
          { limit: deps.pageSize ?? 1000, ...(before ? { before } : {}) },
          commitment,
        );
        for (const s of page) if (s.err === null) signatures.push(s.signature);
        if (page.length < (deps.pageSize ?? 1000)) break;
        before = page[page.length - 1]?.signature;
      }
      const views = await mapWithConcurrency(signatures, concurrency, view);
      const transfers: TreasuryTransfer[] = [];
      signatures.forEach((txId, i) => {
        const v = views[i];
        if (!v?.ok || (v.usdc.get(treasury) ?? 0n) >= 0n) return;
        for (const [wallet, amount] of v.usdc)
          if (wallet !== treasury && amount > 0n) transfers.push({ txId, wallet, amountMicroUsdc: amount });
      });
      return transfers;
    },
  };
}
