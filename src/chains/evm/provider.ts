import { FetchRequest, JsonRpcProvider, Network } from 'ethers';

export const LOCAL_CHAIN_ID = 31337;

export interface ProviderOptions {
  /** Known chain id: skips ethers' network detection, which retries forever when the node is down. */
  chainId?: number;
  /** Per-request timeout. */
  requestTimeoutMs?: number;
  /** How often wait() polls for new blocks. */
  pollingIntervalMs?: number;
}

/** One-shot eth_chainId, failing fast instead of ethers' endless start-up retry. */
async function fetchChainId(rpcUrl: string, timeoutMs = 10_000): Promise<number> {
  const req = new FetchRequest(rpcUrl);
  req.timeout = timeoutMs;
  req.setHeader('content-type', 'application/json');
  req.body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] });
  const res = await req.send();
  res.assertOk();
  const body = res.bodyJson as { result?: unknown };
  if (typeof body.result !== 'string') throw new Error(`eth_chainId returned no result from ${req.url}`);
  return Number(BigInt(body.result));
}

/** A JsonRpcProvider pinned to its chain, with bounded request times. */
export async function connectProvider(rpcUrl: string, opts: ProviderOptions = {}): Promise<JsonRpcProvider> {
  const chainId = opts.chainId ?? (await fetchChainId(rpcUrl, opts.requestTimeoutMs));
  const req = new FetchRequest(rpcUrl);
  req.timeout = opts.requestTimeoutMs ?? 30_000;
  const network = Network.from(chainId);
  return new JsonRpcProvider(req, network, {
    staticNetwork: network,
    // ethers caches identical reads for 250 ms, which hands out stale pending nonces under load.
    cacheTimeout: -1,
    pollingInterval: opts.pollingIntervalMs ?? (chainId === LOCAL_CHAIN_ID ? 250 : 2_000),
  });
}
