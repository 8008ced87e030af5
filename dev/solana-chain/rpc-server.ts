/**
 * Solana JSON-RPC over HTTP plus the PubSub WebSocket (on port+1, web3.js's convention), answering
 * in the shapes real validators use so unmodified web3.js/spl-token clients work against it.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { VersionedMessage, VersionedTransaction } from '@solana/web3.js';
import { TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID } from '@solana/spl-token';
import bs58 from 'bs58';
import { WebSocketServer, type WebSocket } from 'ws';
import { RpcError, type Fault, type Ledger, type SignatureRecord, type StoredAccount, type StoredTokenBalance } from './ledger';

const TOKEN_PROGRAM = TOKEN_PROGRAM_ID.toBase58();
const TOKEN_2022_PROGRAM = TOKEN_2022_PROGRAM_ID.toBase58();
const MAX_BODY_BYTES = 5 * 1024 * 1024;
const CORE_VERSION = '2.2.0';

type Params = unknown[];
type Handler = (params: Params) => unknown;

interface JsonRpcRequest {
  jsonrpc?: unknown;
  id?: unknown;
  method?: unknown;
  params?: unknown;
}

export interface RpcServerOptions {
  port: number;
  host: string;
  faultInjection: boolean;
}

export interface RpcServers {
  rpcUrl: string;
  wsUrl: string;
  close(): Promise<void>;
}

const cfgOf = (params: Params, index: number): Record<string, unknown> => {
  const v = params[index];
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
};

function stringParam(params: Params, index: number, name: string): string {
  const v = params[index];
  if (typeof v !== 'string') throw new RpcError(-32602, `Invalid params: ${name} must be a string`);
  return v;
}

function pubkeyParam(params: Params, index: number): string {
  const v = stringParam(params, index, 'pubkey');
  try {
    if (bs58.decode(v).length === 32) return v;
  } catch {
    // fall through to the typed error
  }
  throw new RpcError(-32602, 'Invalid param: Invalid');
}

function encodeAccount(acc: StoredAccount, encoding: unknown, dataSlice: unknown): Record<string, unknown> {
  let data = Buffer.from(acc.data);
  if (dataSlice && typeof dataSlice === 'object') {
    const { offset, length } = dataSlice as { offset?: number; length?: number };
    data = data.subarray(offset ?? 0, (offset ?? 0) + (length ?? data.length));
  }
  const encoded = encoding === 'base58' ? [bs58.encode(data), 'base58'] : [data.toString('base64'), 'base64'];
  return {
    lamports: Number(acc.lamports),
    owner: acc.owner,
    data: encoded,
    executable: acc.executable,
    rentEpoch: 0,
    space: acc.data.length,
  };
}

function statusOf(rec: SignatureRecord, currentSlot: number): Record<string, unknown> {
  // One node, no forks: whatever executed is final at once.
  void currentSlot;
  return {
    slot: rec.slot,
    confirmations: null,
    err: rec.err,
    status: rec.err === null ? { Ok: null } : { Err: rec.err },
    confirmationStatus: 'finalized',
  };
}

function tokenAmount(amount: bigint, decimals: number): Record<string, unknown> {
  const s = amount.toString().padStart(decimals + 1, '0');
  const uiAmountString = decimals === 0 ? s : `${s.slice(0, -decimals)}.${s.slice(-decimals)}`.replace(/\.?0+$/, '');
  return { amount: amount.toString(), decimals, uiAmount: Number(uiAmountString), uiAmountString };
}

function tokenBalanceJson(b: StoredTokenBalance): Record<string, unknown> {
  return {
    accountIndex: b.accountIndex,
    mint: b.mint,
    owner: b.owner,
    programId: b.programId,
    uiTokenAmount: tokenAmount(BigInt(b.amount), b.decimals),
  };
}

export function createHandlers(ledger: Ledger, faultInjection: boolean): Map<string, Handler> {
  const ctx = () => ({ slot: ledger.slot, apiVersion: CORE_VERSION });
  const withCtx = (value: unknown) => ({ context: ctx(), value });
  const isTokenProgram = (owner: string) => owner === TOKEN_PROGRAM || owner === TOKEN_2022_PROGRAM;

  const tokenAccount = (address: string) => {
    const acc = ledger.getAccount(address);
    if (!acc || !isTokenProgram(acc.owner) || acc.data.length < 165) {
      throw new RpcError(-32602, 'Invalid param: not a Token account');
    }
    return acc;
  };
  const mintDecimals = (mint: string): number => {
    const acc = ledger.getAccount(mint);
    if (!acc || !isTokenProgram(acc.owner) || acc.data.length < 82) throw new RpcError(-32602, 'Invalid param: not a Token mint');
    return acc.data[44] ?? 0;
  };

  const h = new Map<string, Handler>();
  h.set('getVersion', () => ({ 'solana-core': CORE_VERSION, 'feature-set': 0 }));
  h.set('getHealth', () => 'ok');
  h.set('getSlot', () => ledger.slot);
  h.set('getBlockHeight', () => ledger.blockHeight);
  h.set('getGenesisHash', () => 'EtWTRABZaYq6iMfeYKouRu166VU2xqa1wcaWoxPkrZBG');
  h.set('getEpochInfo', () => ({
    absoluteSlot: ledger.slot,
    blockHeight: ledger.blockHeight,
    epoch: 0,
    slotIndex: ledger.slot,
    slotsInEpoch: 432000,
    transactionCount: null,
  }));
  h.set('getLatestBlockhash', () => withCtx(ledger.latestBlockhash));
  h.set('isBlockhashValid', (p) => withCtx(ledger.isBlockhashValid(stringParam(p, 0, 'blockhash'))));
  h.set('getFeeForMessage', (p) => {
    let message: VersionedMessage;
    try {
      message = VersionedMessage.deserialize(Buffer.from(stringParam(p, 0, 'message'), 'base64'));
    } catch {
      throw new RpcError(-32602, 'Invalid params: invalid message');
    }
    return withCtx(ledger.isBlockhashValid(message.recentBlockhash) ? ledger.feeForMessage(message) : null);
  });
  h.set('getMinimumBalanceForRentExemption', (p) => {
    const len = p[0];
    if (typeof len !== 'number' || !Number.isInteger(len) || len < 0) throw new RpcError(-32602, 'Invalid params: data length');
    return Number(ledger.svm.minimumBalanceForRentExemption(BigInt(len)));
  });
  h.set('getBalance', (p) => withCtx(Number(ledger.getAccount(pubkeyParam(p, 0))?.lamports ?? 0n)));
  h.set('getAccountInfo', (p) => {
    const cfg = cfgOf(p, 1);
    const acc = ledger.getAccount(pubkeyParam(p, 0));
    return withCtx(acc ? encodeAccount(acc, cfg.encoding, cfg.dataSlice) : null);
  });
  h.set('getMultipleAccounts', (p) => {
    const keys = p[0];
    if (!Array.isArray(keys) || keys.length > 100) throw new RpcError(-32602, 'Invalid params: up to 100 pubkeys');
    const cfg = cfgOf(p, 1);
    return withCtx(
      keys.map((_, i) => {
        const acc = ledger.getAccount(pubkeyParam(keys as Params, i));
        return acc ? encodeAccount(acc, cfg.encoding, cfg.dataSlice) : null;
      }),
    );
  });
  h.set('getTokenAccountBalance', (p) => {
    const acc = tokenAccount(pubkeyParam(p, 0));
    const data = Buffer.from(acc.data);
    return withCtx(tokenAmount(data.readBigUInt64LE(64), mintDecimals(bs58.encode(data.subarray(0, 32)))));
  });
  h.set('getTokenSupply', (p) => {
    const mint = pubkeyParam(p, 0);
    const decimals = mintDecimals(mint);
    const data = Buffer.from(ledger.getAccount(mint)?.data ?? []);
    return withCtx(tokenAmount(data.readBigUInt64LE(36), decimals));
  });
  h.set('getTokenAccountsByOwner', (p) => {
    const owner = pubkeyParam(p, 0);
    const filter = cfgOf(p, 1);
    const cfg = cfgOf(p, 2);
    let programs = [TOKEN_PROGRAM, TOKEN_2022_PROGRAM];
    let mint: string | undefined;
    if (typeof filter.mint === 'string') {
      mint = filter.mint;
      const mintAcc = ledger.getAccount(mint);
      if (!mintAcc || !isTokenProgram(mintAcc.owner)) throw new RpcError(-32602, 'Invalid param: could not find mint');
      programs = [mintAcc.owner];
    } else if (typeof filter.programId === 'string') {
      if (!isTokenProgram(filter.programId)) throw new RpcError(-32602, 'Invalid param: unrecognized Token program id');
      programs = [filter.programId];
    } else {
      throw new RpcError(-32602, 'Invalid params: expected {mint} or {programId}');
    }
    const value = programs
      .flatMap((pid) => ledger.programAccounts(pid))
      .filter(({ account }) => {
        const data = Buffer.from(account.data);
        // Token-2022 marks extended accounts with AccountType at byte 165 (1 = mint, 2 = account).
        const isAccount = data.length === 165 || (data.length > 165 && data[165] === 2);
        if (!isAccount || bs58.encode(data.subarray(32, 64)) !== owner) return false;
        return mint === undefined || bs58.encode(data.subarray(0, 32)) === mint;
      })
      .map(({ pubkey, account }) => ({ pubkey, account: encodeAccount(account, cfg.encoding, cfg.dataSlice) }));
    return withCtx(value);
  });
  h.set('sendTransaction', (p) => {
    const cfg = cfgOf(p, 1);
    const wire = stringParam(p, 0, 'transaction');
    const raw = cfg.encoding === 'base64' ? Buffer.from(wire, 'base64') : Buffer.from(bs58.decode(wire));
    const signature = ledger.sendTransaction(raw, cfg.skipPreflight === true);
    if (ledger.faults.failAfterSend > 0) {
      ledger.faults.failRequests = ledger.faults.failAfterSend;
      ledger.faults.failAfterSend = 0;
    }
    return signature;
  });
  h.set('simulateTransaction', (p) => {
    const cfg = cfgOf(p, 1);
    const wire = stringParam(p, 0, 'transaction');
    const raw = cfg.encoding === 'base64' ? Buffer.from(wire, 'base64') : Buffer.from(bs58.decode(wire));
    let tx: VersionedTransaction;
    try {
      tx = VersionedTransaction.deserialize(raw);
    } catch {
      throw new RpcError(-32602, 'invalid transaction');
    }
    const replace = cfg.replaceRecentBlockhash === true;
    if (replace) tx.message.recentBlockhash = ledger.latestBlockhash.blockhash;
    else if (!ledger.isBlockhashValid(tx.message.recentBlockhash)) {
      return withCtx({ err: 'BlockhashNotFound', logs: [], accounts: null, unitsConsumed: 0, returnData: null });
    }
    const sim = ledger.simulate(replace ? tx.serialize() : raw, cfg.sigVerify === true && !replace);
    return withCtx({
      err: sim.err,
      logs: sim.logs,
      accounts: null,
      unitsConsumed: sim.unitsConsumed,
      returnData: null,
      ...(replace ? { replacementBlockhash: ledger.latestBlockhash } : {}),
    });
  });
  h.set('getSignatureStatuses', (p) => {
    const sigs = p[0];
    if (!Array.isArray(sigs) || sigs.length > 256) throw new RpcError(-32602, 'Invalid params: up to 256 signatures');
    const search = cfgOf(p, 1).searchTransactionHistory === true;
    return withCtx(
      sigs.map((s) => {
        const rec = typeof s === 'string' ? ledger.signatureStatus(s, search) : null;
        return rec ? statusOf(rec, ledger.slot) : null;
      }),
    );
  });
  h.set('getSignaturesForAddress', (p) => {
    const cfg = cfgOf(p, 1);
    const limit = typeof cfg.limit === 'number' && cfg.limit > 0 ? Math.min(cfg.limit, 1000) : 1000;
    const page = {
      before: typeof cfg.before === 'string' ? cfg.before : undefined,
      until: typeof cfg.until === 'string' ? cfg.until : undefined,
    };
    return ledger.signaturesForAddress(pubkeyParam(p, 0), limit, page).map((r) => ({
      signature: r.signature,
      slot: r.slot,
      err: r.err,
      memo: null,
      blockTime: r.blockTime,
      confirmationStatus: 'finalized',
    }));
  });
  h.set('getTransaction', (p) => {
    const rec = ledger.getTransaction(stringParam(p, 0, 'signature'));
    if (!rec || rec.raw === '') return null;
    const cfg = cfgOf(p, 1);
    const tx = VersionedTransaction.deserialize(Buffer.from(rec.raw, 'base64'));
    const version = tx.version === 'legacy' ? 'legacy' : 0;
    if (version === 0 && cfg.maxSupportedTransactionVersion === undefined) {
      throw new RpcError(
        -32015,
        'Transaction version (0) is not supported by the requesting client. Please try the request again with the following configuration parameter: "maxSupportedTransactionVersion": 0',
      );
    }
    const m = tx.message;
    const transaction =
      cfg.encoding === 'base64'
        ? [rec.raw, 'base64']
        : {
            signatures: tx.signatures.map((s) => bs58.encode(s)),
            message: {
              accountKeys: m.staticAccountKeys.map((k) => k.toBase58()),
              header: m.header,
              recentBlockhash: m.recentBlockhash,
              instructions: m.compiledInstructions.map((ix) => ({
                programIdIndex: ix.programIdIndex,
                accounts: ix.accountKeyIndexes,
                data: bs58.encode(ix.data),
                stackHeight: null,
              })),
              ...(version === 0
                ? {
                    addressTableLookups: m.addressTableLookups.map((l) => ({
                      accountKey: l.accountKey.toBase58(),
                      writableIndexes: l.writableIndexes,
                      readonlyIndexes: l.readonlyIndexes,
                    })),
                  }
                : {}),
            },
          };
    return {
      slot: rec.slot,
      blockTime: rec.blockTime,
      version,
      transaction,
      meta: {
        err: rec.err,
        status: rec.err === null ? { Ok: null } : { Err: rec.err },
        fee: rec.fee,
        preBalances: rec.preBalances,
        postBalances: rec.postBalances,
        innerInstructions: [],
        logMessages: rec.logs,
        preTokenBalances: (rec.preTokenBalances ?? []).map(tokenBalanceJson),
        postTokenBalances: (rec.postTokenBalances ?? []).map(tokenBalanceJson),
        rewards: [],
        loadedAddresses: { writable: rec.loadedWritable, readonly: rec.loadedReadonly },
        computeUnitsConsumed: rec.computeUnits,
      },
    };
  });
  h.set('getRecentPrioritizationFees', (p) => {
    const list = Array.isArray(p[0]) ? (p[0] as unknown[]).filter((a): a is string => typeof a === 'string') : [];
    return ledger.recentPriorityFees(list);
  });
  h.set('requestAirdrop', (p) => {
    const lamports = p[1];
    if (typeof lamports !== 'number' || !Number.isSafeInteger(lamports) || lamports <= 0) {
      throw new RpcError(-32602, 'Invalid params: lamports');
    }
    return ledger.airdrop(pubkeyParam(p, 0), BigInt(lamports));
  });
  if (faultInjection) {
    h.set('dev_injectFault', (p) => {
      const f = cfgOf(p, 0) as Partial<Fault> & Record<string, unknown>;
      const num = (v: unknown, name: string) => {
        if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new RpcError(-32602, `Invalid params: ${name}`);
        return v;
      };
      switch (f.kind) {
        case 'dropNextTransaction':
          ledger.injectFault({ kind: f.kind, count: f.count === undefined ? 1 : num(f.count, 'count') });
          break;
        case 'delayConfirmation':
          ledger.injectFault({ kind: f.kind, ms: num(f.ms, 'ms') });
          break;
        case 'failNextRequests':
        case 'failRequestsAfterNextSend':
          ledger.injectFault({ kind: f.kind, n: num(f.n, 'n') });
          break;
        case 'expireBlockhash':
        case 'clear':
          ledger.injectFault({ kind: f.kind });
          break;
        default:
          throw new RpcError(-32602, 'Invalid params: unknown fault kind');
      }
      return { ok: true, blockHeight: ledger.blockHeight };
    });
  }
  return h;
}

/** One JSON-RPC request against the handlers: the HTTP server's dispatch, also used without HTTP (bench/solana.ts). */
export function handleOne(handlers: Map<string, Handler>, req: unknown): Record<string, unknown> {
  const r = (req && typeof req === 'object' ? req : {}) as JsonRpcRequest;
  const id = typeof r.id === 'string' || typeof r.id === 'number' ? r.id : null;
  if (r.jsonrpc !== '2.0' || typeof r.method !== 'string') {
    return { jsonrpc: '2.0', error: { code: -32600, message: 'Invalid request' }, id };
  }
  const handler = handlers.get(r.method);
  if (!handler) return { jsonrpc: '2.0', error: { code: -32601, message: 'Method not found' }, id };
  const params = r.params === undefined ? [] : r.params;
  if (!Array.isArray(params)) return { jsonrpc: '2.0', error: { code: -32602, message: 'Invalid params' }, id };
  try {
    return { jsonrpc: '2.0', result: handler(params), id };
  } catch (err) {
    if (err instanceof RpcError) {
      return { jsonrpc: '2.0', error: { code: err.code, message: err.message, ...(err.data === undefined ? {} : { data: err.data }) }, id };
    }
    return { jsonrpc: '2.0', error: { code: -32603, message: `Internal error: ${(err as Error).message}` }, id };
  }
}

export async function startRpcServers(ledger: Ledger, opts: RpcServerOptions): Promise<RpcServers> {
  const handlers = createHandlers(ledger, opts.faultInjection);

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) req.destroy();
      else chunks.push(c);
    });
    req.on('end', () => {
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (req.method !== 'POST') return send(405, { jsonrpc: '2.0', error: { code: -32600, message: 'POST only' }, id: null });
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return send(200, { jsonrpc: '2.0', error: { code: -32700, message: 'Parse error' }, id: null });
      }
      const isFaultCall = !Array.isArray(body) && (body as JsonRpcRequest | null)?.method === 'dev_injectFault';
      if (!isFaultCall && ledger.faults.failRequests > 0) {
        ledger.faults.failRequests -= 1;
        return send(503, { jsonrpc: '2.0', error: { code: -32603, message: 'injected fault: service unavailable' }, id: null });
      }
      if (Array.isArray(body))
        return send(
          200,
          body.map((b) => handleOne(handlers, b)),
        );
      return send(200, handleOne(handlers, body));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  const wss = new WebSocketServer({ host: opts.host, port: port + 1 });
  try {
    await new Promise<void>((resolve, reject) => {
      wss.once('error', reject);
      wss.once('listening', () => resolve());
    });
  } catch (err) {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    throw err;
  }
  let nextSub = 1;
  const sigSubs = new Map<number, { ws: WebSocket; signature: string }>();
  const acctSubs = new Map<number, { ws: WebSocket; address: string; encoding: unknown }>();

  const notifySignature = (subId: number, rec: SignatureRecord) => {
    const sub = sigSubs.get(subId);
    if (!sub) return;
    sigSubs.delete(subId); // signature subscriptions end after their first notification
    sub.ws.send(
      JSON.stringify({
        jsonrpc: '2.0',
        method: 'signatureNotification',
        params: { result: { context: { slot: rec.slot }, value: { err: rec.err } }, subscription: subId },
      }),
    );
  };
  const onSignature = (rec: SignatureRecord) => {
    for (const [id, sub] of sigSubs) if (sub.signature === rec.signature) notifySignature(id, rec);
  };
  const onAccount = (address: string) => {
    for (const [id, sub] of acctSubs) {
      if (sub.address !== address) continue;
      const acc = ledger.getAccount(address);
      const value = acc
        ? encodeAccount(acc, sub.encoding, undefined)
        : { lamports: 0, owner: '11111111111111111111111111111111', data: ['', 'base64'], executable: false, rentEpoch: 0, space: 0 };
      sub.ws.send(
        JSON.stringify({
          jsonrpc: '2.0',
          method: 'accountNotification',
          params: { result: { context: { slot: ledger.slot }, value }, subscription: id },
        }),
      );
    }
  };
  ledger.on('signature', onSignature);
  ledger.on('account', onAccount);

  wss.on('connection', (ws) => {
    const mine = new Set<number>();
    ws.on('message', (data: Buffer) => {
      let req: JsonRpcRequest;
      try {
        req = JSON.parse(data.toString('utf8')) as JsonRpcRequest;
      } catch {
        ws.send(JSON.stringify({ jsonrpc: '2.0', error: { code: -32700, message: 'Parse error' }, id: null }));
        return;
      }
      const id = typeof req.id === 'string' || typeof req.id === 'number' ? req.id : null;
      const params = Array.isArray(req.params) ? (req.params as Params) : [];
      const reply = (result: unknown) => ws.send(JSON.stringify({ jsonrpc: '2.0', result, id }));
      const fail = (code: number, message: string) => ws.send(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id }));
      try {
        switch (req.method) {
          case 'signatureSubscribe': {
            const signature = stringParam(params, 0, 'signature');
            const subId = nextSub++;
            sigSubs.set(subId, { ws, signature });
            mine.add(subId);
            reply(subId);
            const rec = ledger.signatureStatus(signature, false);
            if (rec) notifySignature(subId, rec);
            return;
          }
          case 'accountSubscribe': {
            const address = pubkeyParam(params, 0);
            const subId = nextSub++;
            acctSubs.set(subId, { ws, address, encoding: cfgOf(params, 1).encoding });
            mine.add(subId);
            reply(subId);
            return;
          }
          case 'signatureUnsubscribe':
          case 'accountUnsubscribe': {
            const subId = params[0];
            const map = req.method === 'signatureUnsubscribe' ? sigSubs : acctSubs;
            if (typeof subId !== 'number') return fail(-32602, 'Invalid params');
            // Unknown ids answer false-y errors on real nodes; web3.js ignores the result either way.
            const existed = map.delete(subId);
            mine.delete(subId);
            reply(existed || req.method === 'signatureUnsubscribe');
            return;
          }
          case 'slotSubscribe':
          case 'rootSubscribe': {
            const subId = nextSub++;
            reply(subId);
            return;
          }
          case 'slotUnsubscribe':
          case 'rootUnsubscribe':
            reply(true);
            return;
          default:
            fail(-32601, 'Method not found');
        }
      } catch (err) {
        if (err instanceof RpcError) fail(err.code, err.message);
        else fail(-32603, 'Internal error');
      }
    });
    ws.on('close', () => {
      for (const id of mine) {
        sigSubs.delete(id);
        acctSubs.delete(id);
      }
    });
  });

  return {
    rpcUrl: `http://${opts.host}:${port}`,
    wsUrl: `ws://${opts.host}:${port + 1}`,
    async close() {
      ledger.off('signature', onSignature);
      ledger.off('account', onAccount);
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
