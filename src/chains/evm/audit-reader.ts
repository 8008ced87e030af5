/**
 * Read-only EVM access for the auditor: a settlement receipt's ERC-20 Transfer logs and ERC-721
 * mint, the receipt token's current owner, and every USDC Transfer out of the treasury (`getLogs`
 * in block ranges from the splitter's deployment block).
 */
import { Contract, getAddress, id, zeroPadValue, type JsonRpcProvider, type Log } from 'ethers';
import { mapWithConcurrency } from '../../audit/pool';
import type { ChainAuditReader, SettlementObservation, SettlementToVerify, TreasuryTransfer } from '../../audit/types';
import { erc20InterfaceAbi, settlementSplitterInterfaceAbi } from './interfaces';

const TRANSFER_TOPIC = id('Transfer(address,address,uint256)');
const ZERO_TOPIC = zeroPadValue('0x', 32);

export interface EvmAuditReaderDeps {
  provider: JsonRpcProvider;
  usdc: string;
  splitter: string;
  /** defaults to the splitter's `treasury()` */
  treasury?: string;
  /** first block to scan for treasury transfers (the splitter's deployment block) */
  fromBlock?: number;
  /** blocks per getLogs call (default 10,000, within common provider limits) */
  blockRange?: number;
  concurrency?: number;
}

const topicAddress = (topic: string | undefined): string => `0x${(topic ?? '').slice(26)}`.toLowerCase();

export function createEvmAuditReader(deps: EvmAuditReaderDeps): ChainAuditReader {
  const { provider } = deps;
  const usdc = getAddress(deps.usdc);
  const splitterAddress = getAddress(deps.splitter);
  const splitter = new Contract(splitterAddress, settlementSplitterInterfaceAbi, provider);
  const token = new Contract(usdc, erc20InterfaceAbi, provider);
  const concurrency = deps.concurrency ?? 8;
  let treasury: Promise<string> | undefined;
  const treasuryAddress = () =>
    (treasury ??= deps.treasury
      ? Promise.resolve(getAddress(deps.treasury))
      : (splitter.getFunction('treasury')() as Promise<string>).then(getAddress));

  const ownerOf = async (tokenId: string): Promise<string | null> => {
    try {
      return ((await splitter.getFunction('ownerOf')(BigInt(tokenId))) as string).toLowerCase();
    } catch (err) {
      // ERC721NonexistentToken: the call reverts; anything else (the RPC is down) is not an answer.
      if ((err as { code?: string }).code === 'CALL_EXCEPTION') return null;
      throw err;
    }
  };

  const usdcTransfers = (logs: readonly Log[]) =>
    logs
      .filter((l) => getAddress(l.address) === usdc && l.topics[0] === TRANSFER_TOPIC && l.topics.length === 3)
      .map((l) => ({ from: topicAddress(l.topics[1]), to: topicAddress(l.topics[2]), value: BigInt(l.data) }));

  return {
    rail: 'evm',
    normaliseWallet: (w) => w.toLowerCase(),
    treasuryWallet: async () => (await treasuryAddress()).toLowerCase(),

    async treasuryBalanceMicroUsdc() {
      return (await token.getFunction('balanceOf')(await treasuryAddress())) as bigint;
    },

    async observeSettlements(settlements: readonly SettlementToVerify[]) {
      const results = await mapWithConcurrency(settlements, concurrency, async (s): Promise<SettlementObservation> => {
        const [receipt, owner] = await Promise.all([
          provider.getTransactionReceipt(s.txId),
          /^[0-9]+$/.test(s.nftId) ? ownerOf(s.nftId) : Promise.resolve(null),
        ]);
        const usdcDeltas = new Map<string, bigint>();
        let mintedToBuyerInTx = false;
        if (receipt) {
          for (const t of usdcTransfers(receipt.logs)) {
            usdcDeltas.set(t.from, (usdcDeltas.get(t.from) ?? 0n) - t.value);
            usdcDeltas.set(t.to, (usdcDeltas.get(t.to) ?? 0n) + t.value);
          }
          for (const [k, v] of usdcDeltas) if (v === 0n) usdcDeltas.delete(k);
          mintedToBuyerInTx = receipt.logs.some(
            (l) =>
              getAddress(l.address) === splitterAddress &&
              l.topics[0] === TRANSFER_TOPIC &&
              l.topics.length === 4 &&
              l.topics[1] === ZERO_TOPIC &&
              topicAddress(l.topics[2]) === s.buyerWallet.toLowerCase() &&
              BigInt(l.topics[3] ?? '0x0').toString() === s.nftId,
          );
        }
        const buyer = s.buyerWallet.toLowerCase();
        return {
          status: !receipt ? 'not_found' : receipt.status === 1 ? 'ok' : 'failed',
          usdcDeltas,
          nft: { exists: owner !== null, supply: owner !== null ? 1n : 0n, buyerBalance: owner === buyer ? 1n : 0n, mintedToBuyerInTx },
        };
      });
      return new Map(settlements.map((s, i) => [s.purchaseId, results[i] as SettlementObservation]));
    },

    async treasuryOutflows() {
      const from = zeroPadValue(await treasuryAddress(), 32);
      // Straight from the node: ethers answers getBlockNumber from a short-lived cache, which can
      // stop the scan one block short of a transfer mined a moment ago.
      const latest = Number(await provider.send('eth_blockNumber', []));
      const range = deps.blockRange ?? 10_000;
      const starts: number[] = [];
      for (let b = deps.fromBlock ?? 0; b <= latest; b += range) starts.push(b);
      const pages = await mapWithConcurrency(starts, concurrency, (start) =>
        provider.getLogs({ address: usdc, topics: [TRANSFER_TOPIC, from], fromBlock: start, toBlock: Math.min(latest, start + range - 1) }),
      );
      const transfers: TreasuryTransfer[] = [];
      for (const l of pages.flat()) {
        const to = topicAddress(l.topics[2]);
        const value = BigInt(l.data);
        if (value > 0n) transfers.push({ txId: l.transactionHash, wallet: to, amountMicroUsdc: value });
      }
      return transfers;
    },
  };
}
