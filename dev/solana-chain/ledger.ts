/**
 * The local chain's state machine: litesvm executes transactions, and this class adds what a
 * validator has and litesvm lacks — slots that advance with wall time, a queue of recent blockhashes
 * valid for 150 blocks, signature history, fault injection and persistence across restarts.
 */
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { AddressLookupTableAccount, AddressLookupTableProgram, VersionedMessage, VersionedTransaction } from '@solana/web3.js';
import { TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID } from '@solana/spl-token';
import { address as toAddress, getTransactionDecoder, lamports as toLamports } from '@solana/kit';
import { FailedTransactionMetadata, LiteSVM, type TransactionMetadata } from 'litesvm';
import bs58 from 'bs58';
import { describeTxError, txErrorToJson, type JsonTxError } from './tx-error';

/** Mainnet keeps a blockhash usable for 150 blocks; lastValidBlockHeight = height + 150. */
const BLOCKHASH_VALID_BLOCKS = 150;
const SIGNATURE_FEE_LAMPORTS = 5000;
const COMPUTE_BUDGET_PROGRAM = 'ComputeBudget111111111111111111111111111111';
const DEFAULT_UNITS_PER_INSTRUCTION = 200_000;
const MAX_COMPUTE_UNITS = 1_400_000;
/** How far back a status is found without searchTransactionHistory, like a validator's status cache. */
const STATUS_CACHE_SLOTS = 300;

export class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
    this.name = 'RpcError';
  }
}

export interface StoredAccount {
  lamports: bigint;
  data: Uint8Array;
  owner: string;
  executable: boolean;
}

export interface SignatureRecord {
  signature: string;
  slot: number;
  blockTime: number;
  err: JsonTxError | null;
  logs: string[];
  fee: number;
  /** base64 wire transaction; empty for airdrops, which litesvm signs internally. */
  raw: string;
  accountKeys: string[];
  loadedWritable: string[];
  loadedReadonly: string[];
  preBalances: number[];
  postBalances: number[];
  computeUnits: number;
  /** SPL token accounts among the transaction's keys before and after it ran (absent on old records). */
  preTokenBalances?: StoredTokenBalance[];
  postTokenBalances?: StoredTokenBalance[];
  /** Wall-clock ms before which the status is hidden (fault injection: delayConfirmation). */
  visibleAt?: number;
}

/** One token account's balance, as a validator reports it in a transaction's meta. */
export interface StoredTokenBalance {
  /** Position in the full account list: static keys, then loaded writable, then loaded readonly. */
  accountIndex: number;
  mint: string;
  owner: string;
  programId: string;
  /** base units, decimal string */
  amount: string;
  decimals: number;
}

const TOKEN_PROGRAMS = new Set([TOKEN_PROGRAM_ID.toBase58(), TOKEN_2022_PROGRAM_ID.toBase58()]);

/** What `dev_injectFault` accepts (only when SOLANA_FAULT_INJECTION is on). */
export type Fault =
  /** The next `count` (default 1) sends answer with a signature but never execute: a lost packet. */
  | { kind: 'dropNextTransaction'; count?: number }
  /** The next transaction executes at once but its status and notifications stay hidden for `ms`: RPC lag. */
  | { kind: 'delayConfirmation'; ms: number }
  /** 151 blocks pass at once, so every blockhash handed out so far is expired. */
  | { kind: 'expireBlockhash' }
  /** The next `n` HTTP requests get 503. */
  | { kind: 'failNextRequests'; n: number }
  /** Like failNextRequests, but starting right after the next successful send: a lost confirmation. */
  | { kind: 'failRequestsAfterNextSend'; n: number }
  | { kind: 'clear' };

interface Faults {
  dropNext: number;
  delayNextMs: number;
  failRequests: number;
  failAfterSend: number;
}

type LogLine =
  | { t: 'acct'; a: string; l: string; d: string; o: string; e: boolean }
  | { t: 'del'; a: string }
  | { t: 'sig'; r: SignatureRecord }
  | { t: 'height'; h: number; s: number };

interface PriorityFeeSample {
  slot: number;
  microLamports: number;
  writable: string[];
}

export interface LedgerOptions {
  dataDir: string;
  slotMs: number;
}

export class Ledger extends EventEmitter {
  readonly svm: LiteSVM;
  slot = 0;
  blockHeight = 0;
  readonly faults: Faults = { dropNext: 0, delayNextMs: 0, failRequests: 0, failAfterSend: 0 };
  private readonly blockhashes = new Map<string, number>();
  private latest = '';
  private slotHashes: { slot: bigint; hash: string }[] = [];
  private sysvarsSlot = -1;
  private readonly signatures = new Map<string, SignatureRecord>();
  private readonly byAddress = new Map<string, string[]>();
  private readonly priorityFees: PriorityFeeSample[] = [];
  private readonly logPath: string;
  private timer: NodeJS.Timeout | undefined;
  private readonly decoder = getTransactionDecoder();

  constructor(private readonly opts: LedgerOptions) {
    super();
    this.setMaxListeners(0);
    // litesvm accepts only its single latest blockhash; the validity window is enforced here instead.
    this.svm = new LiteSVM().withBlockhashCheck(false).withTransactionHistory(0n);
    fs.mkdirSync(opts.dataDir, { recursive: true });
    this.logPath = path.join(opts.dataDir, 'ledger.jsonl');
    this.restore();
    this.advance();
  }

  start(): void {
    this.timer = setInterval(() => this.advance(), this.opts.slotMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.append([{ t: 'height', h: this.blockHeight, s: this.slot }]);
  }

  get latestBlockhash(): { blockhash: string; lastValidBlockHeight: number } {
    return { blockhash: this.latest, lastValidBlockHeight: this.blockHeight + BLOCKHASH_VALID_BLOCKS };
  }

  isBlockhashValid(blockhash: string): boolean {
    const created = this.blockhashes.get(blockhash);
    return created !== undefined && this.blockHeight <= created + BLOCKHASH_VALID_BLOCKS;
  }

  /** One slot passes: a new blockhash, and the oldest ones fall out of the window. */
  advance(): void {
    this.slot += 1;
    this.blockHeight += 1;
    this.svm.expireBlockhash();
    this.latest = this.svm.latestBlockhash();
    this.blockhashes.set(this.latest, this.blockHeight);
    for (const [hash, height] of this.blockhashes) {
      if (height >= this.blockHeight - 2 * BLOCKHASH_VALID_BLOCKS) break;
      this.blockhashes.delete(hash);
    }
    this.slotHashes.unshift({ slot: BigInt(this.slot), hash: this.latest });
    if (this.slotHashes.length > 512) this.slotHashes.length = 512;
    if (this.slot % 50 === 0) this.append([{ t: 'height', h: this.blockHeight, s: this.slot }]);
  }

  /** Push every still-valid blockhash out of the window at once, as if 151 blocks had passed. */
  expireAllBlockhashes(): void {
    for (let i = 0; i <= BLOCKHASH_VALID_BLOCKS; i += 1) this.advance();
  }

  injectFault(fault: Fault): void {
    switch (fault.kind) {
      case 'dropNextTransaction':
        this.faults.dropNext += fault.count ?? 1;
        return;
      case 'delayConfirmation':
        this.faults.delayNextMs = fault.ms;
        return;
      case 'expireBlockhash':
        this.expireAllBlockhashes();
        return;
      case 'failNextRequests':
        this.faults.failRequests = fault.n;
        return;
      case 'failRequestsAfterNextSend':
        this.faults.failAfterSend = fault.n;
        return;
      case 'clear':
        Object.assign(this.faults, { dropNext: 0, delayNextMs: 0, failRequests: 0, failAfterSend: 0 });
        return;
    }
  }

  /** Clock, SlotHashes: only refreshed before execution because setting them on every tick costs. */
  private syncSysvars(): void {
    if (this.sysvarsSlot === this.slot) return;
    const clock = this.svm.getClock();
    clock.slot = BigInt(this.slot);
    clock.unixTimestamp = BigInt(Math.floor(Date.now() / 1000));
    this.svm.setClock(clock);
    this.svm.setSlotHashes(this.slotHashes as never);
    this.sysvarsSlot = this.slot;
  }

  getAccount(address: string): StoredAccount | null {
    const acc = this.svm.getAccount(toAddress(address));
    if (!acc.exists) return null;
    return { lamports: BigInt(acc.lamports), data: acc.data, owner: acc.programAddress, executable: acc.executable };
  }

  /** Dev bootstrap writes state directly; it is persisted like any transaction's writes. */
  setAccount(address: string, account: StoredAccount): void {
    this.svm.setAccount({
      address: toAddress(address),
      lamports: toLamports(account.lamports),
      data: account.data,
      programAddress: toAddress(account.owner),
      executable: account.executable,
      space: BigInt(account.data.length),
    });
    this.persistAccounts([address]);
    this.emit('account', address);
  }

  programAccounts(programId: string): { pubkey: string; account: StoredAccount }[] {
    return this.svm.getProgramAccounts(toAddress(programId)).map((a) => ({
      pubkey: a.address,
      account: { lamports: BigInt(a.lamports), data: a.data as Uint8Array, owner: a.programAddress, executable: a.executable },
    }));
  }

  /**
   * Balances of the SPL token accounts among `keys`, like a validator's pre/postTokenBalances: an
   * account is included when it is a token account at that moment (so one created by the
   * transaction appears only afterwards).
   */
  tokenBalances(keys: readonly string[]): StoredTokenBalance[] {
    const out: StoredTokenBalance[] = [];
    const decimals = new Map<string, number>();
    keys.forEach((key, accountIndex) => {
      const acc = this.getAccount(key);
      if (!acc || !TOKEN_PROGRAMS.has(acc.owner)) return;
      const data = Buffer.from(acc.data);
      // A token account is 165 bytes; Token-2022 extensions follow with AccountType 2 at byte 165.
      if (!(data.length === 165 || (data.length > 165 && data[165] === 2))) return;
      const mint = bs58.encode(data.subarray(0, 32));
      if (!decimals.has(mint)) {
        const mintData = this.getAccount(mint)?.data;
        decimals.set(mint, mintData && mintData.length >= 82 ? (mintData[44] ?? 0) : 0);
      }
      out.push({
        accountIndex,
        mint,
        owner: bs58.encode(data.subarray(32, 64)),
        programId: acc.owner,
        amount: data.readBigUInt64LE(64).toString(),
        decimals: decimals.get(mint) ?? 0,
      });
    });
    return out;
  }

  signatureStatus(signature: string, searchHistory: boolean): SignatureRecord | null {
    const rec = this.signatures.get(signature);
    if (!rec) return null;
    if (rec.visibleAt !== undefined && Date.now() < rec.visibleAt) return null;
    if (!searchHistory && this.slot - rec.slot > STATUS_CACHE_SLOTS) return null;
    return rec;
  }

  recentPriorityFees(addresses: string[]): { slot: number; prioritizationFee: number }[] {
    const bySlot = new Map<number, number>();
    for (const s of this.priorityFees) {
      if (this.slot - s.slot > BLOCKHASH_VALID_BLOCKS) continue;
      if (addresses.length > 0 && !addresses.some((a) => s.writable.includes(a))) continue;
      const prev = bySlot.get(s.slot);
      bySlot.set(s.slot, prev === undefined ? s.microLamports : Math.min(prev, s.microLamports));
    }
    if (bySlot.size === 0) return [{ slot: this.slot, prioritizationFee: 0 }];
    return [...bySlot].map(([slot, prioritizationFee]) => ({ slot, prioritizationFee }));
  }

  feeForMessage(message: VersionedMessage): number {
    const { price, limit } = computeBudgetOf(message);
    const priority = Math.ceil((price * limit) / 1_000_000);
    return message.header.numRequiredSignatures * SIGNATURE_FEE_LAMPORTS + priority;
  }

  private lookupTables(tx: VersionedTransaction): AddressLookupTableAccount[] {
    return tx.message.addressTableLookups.map((lookup) => {
      const acc = this.getAccount(lookup.accountKey.toBase58());
      if (!acc || acc.owner !== AddressLookupTableProgram.programId.toBase58()) {
        throw new RpcError(-32002, "Transaction simulation failed: Transaction loads an address table account that doesn't exist", {
          err: 'AddressLookupTableNotFound',
          logs: [],
          accounts: null,
          unitsConsumed: 0,
        });
      }
      return new AddressLookupTableAccount({
        key: lookup.accountKey,
        state: AddressLookupTableAccount.deserialize(acc.data),
      });
    });
  }

  simulate(raw: Uint8Array, sigVerify: boolean): { err: JsonTxError | null; logs: string[]; unitsConsumed: number } {
    this.syncSysvars();
    const kitTx = this.decoder.decode(raw);
    if (!sigVerify) this.svm.withSigverify(false);
    try {
      const res = this.svm.simulateTransaction(kitTx);
      if (res instanceof FailedTransactionMetadata) {
        const meta = res.meta();
        return { err: txErrorToJson(res.err()), logs: meta.logs(), unitsConsumed: Number(meta.computeUnitsConsumed()) };
      }
      const meta = res.meta();
      return { err: null, logs: meta.logs(), unitsConsumed: Number(meta.computeUnitsConsumed()) };
    } finally {
      if (!sigVerify) this.svm.withSigverify(true);
    }
  }

  sendTransaction(raw: Uint8Array, skipPreflight: boolean): string {
    let tx: VersionedTransaction;
    try {
      tx = VersionedTransaction.deserialize(raw);
    } catch (err) {
      throw new RpcError(-32602, `invalid transaction: ${(err as Error).message}`);
    }
    const first = tx.signatures[0];
    if (!first) throw new RpcError(-32602, 'invalid transaction: no signatures');
    const signature = bs58.encode(first);
    if (this.signatures.has(signature)) {
      if (skipPreflight) return signature;
      throw preflightError('AlreadyProcessed', [], 0);
    }
    if (!this.isBlockhashValid(tx.message.recentBlockhash)) {
      // A node forwards it anyway when preflight is skipped; it simply never lands.
      if (skipPreflight) return signature;
      throw preflightError('BlockhashNotFound', [], 0);
    }
    if (this.faults.dropNext > 0) {
      this.faults.dropNext -= 1;
      return signature;
    }
    const tables = this.lookupTables(tx);
    const keys = tx.message.getAccountKeys({ addressLookupTableAccounts: tables });
    const allKeys = keys
      .keySegments()
      .flat()
      .map((k) => k.toBase58());
    if (!skipPreflight) {
      const sim = this.simulate(raw, true);
      if (sim.err !== null) throw preflightError(sim.err, sim.logs, sim.unitsConsumed);
    }
    this.syncSysvars();
    const preBalances = allKeys.map((k) => Number(this.getAccount(k)?.lamports ?? 0n));
    const preTokenBalances = this.tokenBalances(allKeys);
    const res = this.svm.sendTransaction(this.decoder.decode(raw));
    let meta: TransactionMetadata;
    let err: JsonTxError | null = null;
    if (res instanceof FailedTransactionMetadata) {
      err = txErrorToJson(res.err());
      meta = res.meta();
      // Sanitize-level failures (bad signature, no fee) never land in a block on a real cluster.
      if (typeof err === 'string') throw preflightError(err, meta.logs(), 0);
    } else {
      meta = res;
    }
    const writable = allKeys.filter((_, i) => tx.message.isAccountWritable(i));
    const record: SignatureRecord = {
      signature,
      slot: this.slot,
      blockTime: Math.floor(Date.now() / 1000),
      err,
      logs: meta.logs(),
      fee: this.feeForMessage(tx.message),
      raw: Buffer.from(raw).toString('base64'),
      accountKeys: keys.staticAccountKeys.map((k) => k.toBase58()),
      loadedWritable: (keys.accountKeysFromLookups?.writable ?? []).map((k) => k.toBase58()),
      loadedReadonly: (keys.accountKeysFromLookups?.readonly ?? []).map((k) => k.toBase58()),
      preBalances,
      postBalances: allKeys.map((k) => Number(this.getAccount(k)?.lamports ?? 0n)),
      computeUnits: Number(meta.computeUnitsConsumed()),
      preTokenBalances,
      postTokenBalances: this.tokenBalances(allKeys),
    };
    const { price } = computeBudgetOf(tx.message);
    this.priorityFees.push({ slot: this.slot, microLamports: price, writable });
    if (this.priorityFees.length > 2000) this.priorityFees.splice(0, 1000);
    this.commit(record, writable);
    return signature;
  }

  airdrop(address: string, lamports: bigint): string {
    this.syncSysvars();
    // The faucet's transfer is deterministic per litesvm blockhash, so each airdrop gets a fresh one.
    this.svm.expireBlockhash();
    const res = this.svm.airdrop(toAddress(address), toLamports(lamports));
    if (!res || res instanceof FailedTransactionMetadata) {
      throw new RpcError(-32603, `airdrop failed: ${res ? res.toString() : 'unknown'}`);
    }
    const signature = bs58.encode(res.signature());
    const balance = Number(this.getAccount(address)?.lamports ?? 0n);
    this.commit(
      {
        signature,
        slot: this.slot,
        blockTime: Math.floor(Date.now() / 1000),
        err: null,
        logs: res.logs(),
        fee: SIGNATURE_FEE_LAMPORTS,
        raw: '',
        accountKeys: [address],
        loadedWritable: [],
        loadedReadonly: [],
        preBalances: [balance - Number(lamports)],
        postBalances: [balance],
        computeUnits: 150,
      },
      [address],
    );
    return signature;
  }

  /**
   * Newest first, like getSignaturesForAddress: start after `before` (exclusive) and stop at `until`
   * (exclusive), so clients can page through the whole history.
   */
  signaturesForAddress(address: string, limit: number, page: { before?: string; until?: string } = {}): SignatureRecord[] {
    const sigs = this.byAddress.get(address) ?? [];
    const out: SignatureRecord[] = [];
    let start = sigs.length - 1;
    if (page.before !== undefined) {
      const at = sigs.lastIndexOf(page.before);
      if (at === -1) return [];
      start = at - 1;
    }
    for (let i = start; i >= 0 && out.length < limit; i -= 1) {
      if (page.until !== undefined && sigs[i] === page.until) break;
      const rec = this.signatureStatus(sigs[i] ?? '', true);
      if (rec) out.push(rec);
    }
    return out;
  }

  private index(record: SignatureRecord): void {
    for (const a of new Set([...record.accountKeys, ...record.loadedWritable, ...record.loadedReadonly])) {
      const list = this.byAddress.get(a);
      if (list) list.push(record.signature);
      else this.byAddress.set(a, [record.signature]);
    }
  }

  getTransaction(signature: string): SignatureRecord | null {
    return this.signatureStatus(signature, true);
  }

  private commit(record: SignatureRecord, writable: string[]): void {
    if (this.faults.delayNextMs > 0) {
      record.visibleAt = Date.now() + this.faults.delayNextMs;
      this.faults.delayNextMs = 0;
    }
    this.signatures.set(record.signature, record);
    this.index(record);
    this.persistAccounts(writable, { t: 'sig', r: record });
    const notify = () => {
      this.emit('signature', record);
      for (const a of writable) this.emit('account', a);
    };
    if (record.visibleAt !== undefined) setTimeout(notify, record.visibleAt - Date.now()).unref();
    else notify();
  }

  private persistAccounts(addresses: string[], extra?: LogLine): void {
    const lines: LogLine[] = [];
    for (const a of new Set(addresses)) {
      const acc = this.getAccount(a);
      if (!acc || acc.lamports === 0n) lines.push({ t: 'del', a });
      else {
        lines.push({
          t: 'acct',
          a,
          l: acc.lamports.toString(),
          d: Buffer.from(acc.data).toString('base64'),
          o: acc.owner,
          e: acc.executable,
        });
      }
    }
    if (extra) lines.push(extra);
    lines.push({ t: 'height', h: this.blockHeight, s: this.slot });
    this.append(lines);
  }

  private append(lines: LogLine[]): void {
    // Appended synchronously before the RPC answers, so an acknowledged write survives a crash.
    fs.appendFileSync(this.logPath, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  }

  private restore(): void {
    if (!fs.existsSync(this.logPath)) return;
    const accounts = new Map<string, LogLine & { t: 'acct' }>();
    for (const line of fs.readFileSync(this.logPath, 'utf8').split('\n')) {
      if (line.trim() === '') continue;
      let entry: LogLine;
      try {
        entry = JSON.parse(line) as LogLine;
      } catch {
        continue; // a torn last line from a crash mid-write
      }
      if (entry.t === 'acct') accounts.set(entry.a, entry);
      else if (entry.t === 'del') accounts.delete(entry.a);
      else if (entry.t === 'sig') {
        const rec = { ...entry.r, visibleAt: undefined };
        this.signatures.set(rec.signature, rec);
        this.index(rec);
      } else if (entry.t === 'height') {
        this.blockHeight = Math.max(this.blockHeight, entry.h);
        this.slot = Math.max(this.slot, entry.s);
      }
    }
    // Heights persist every 50 slots, so skip ahead to stay strictly after anything handed out.
    this.blockHeight += 60;
    this.slot += 60;
    for (const a of accounts.values()) {
      this.svm.setAccount({
        address: toAddress(a.a),
        lamports: toLamports(BigInt(a.l)),
        data: Buffer.from(a.d, 'base64'),
        programAddress: toAddress(a.o),
        executable: a.e,
        space: BigInt(Buffer.from(a.d, 'base64').length),
      });
    }
    // Compact: one line per live account and signature.
    const compact: LogLine[] = [...accounts.values(), ...[...this.signatures.values()].map((r) => ({ t: 'sig', r }) as LogLine)];
    compact.push({ t: 'height', h: this.blockHeight, s: this.slot });
    const tmp = `${this.logPath}.tmp`;
    fs.writeFileSync(tmp, compact.map((l) => JSON.stringify(l)).join('\n') + '\n');
    fs.renameSync(tmp, this.logPath);
  }
}

function preflightError(err: JsonTxError, logs: string[], unitsConsumed: number): RpcError {
  const text =
    err === 'BlockhashNotFound'
      ? 'Blockhash not found'
      : err === 'AlreadyProcessed'
        ? 'This transaction has already been processed'
        : describeTxError(err);
  return new RpcError(-32002, `Transaction simulation failed: ${text}`, { err, logs, accounts: null, unitsConsumed, returnData: null });
}

function computeBudgetOf(message: VersionedMessage): { price: number; limit: number } {
  let price = 0;
  let limit: number | undefined;
  let others = 0;
  const keys = message.staticAccountKeys;
  for (const ix of message.compiledInstructions) {
    const program = keys[ix.programIdIndex]?.toBase58();
    if (program !== COMPUTE_BUDGET_PROGRAM) {
      others += 1;
      continue;
    }
    const data = Buffer.from(ix.data);
    if (data[0] === 2 && data.length >= 5) limit = data.readUInt32LE(1);
    if (data[0] === 3 && data.length >= 9) price = Number(data.readBigUInt64LE(1));
  }
  return { price, limit: Math.min(limit ?? others * DEFAULT_UNITS_PER_INSTRUCTION, MAX_COMPUTE_UNITS) };
}
