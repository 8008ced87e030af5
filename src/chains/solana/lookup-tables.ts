/**
 * Treasury-owned address lookup tables, so many payouts fit in one transaction. Tables are
 * append-only address books: extending one is harmless outside the settlement's atomicity.
 * Known tables are kept in memory; after a restart a new table is created on first need, which costs
 * a little rent and nothing else.
 */
import {
  AddressLookupTableAccount,
  AddressLookupTableProgram,
  type Connection,
  type Keypair,
  PublicKey,
  type TransactionInstruction,
} from '@solana/web3.js';

/** A legacy transaction with one signer has room for about 30 new addresses; stay below it. */
const ADDRESSES_PER_EXTEND = 25;
const TABLE_CAPACITY = 256;

export type SendInstructions = (ixs: TransactionInstruction[]) => Promise<number>;

export class LookupTables {
  private tables: AddressLookupTableAccount[] = [];
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly connection: Connection,
    private readonly authority: Keypair,
    private readonly send: SendInstructions,
    private readonly sleep: (ms: number) => Promise<void>,
  ) {}

  /** Tables that together hold every address in `addresses`, extending or creating as needed. */
  ensure(addresses: readonly PublicKey[]): Promise<AddressLookupTableAccount[]> {
    // One extension at a time, or two settlements could race on the same table's free slots.
    const run = this.queue.then(() => this.ensureSerial(addresses));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private has(a: PublicKey): boolean {
    return this.tables.some((t) => t.state.addresses.some((x) => x.equals(a)));
  }

  private async ensureSerial(addresses: readonly PublicKey[]): Promise<AddressLookupTableAccount[]> {
    const unique = [...new Map(addresses.map((a) => [a.toBase58(), a])).values()];
    const missing = unique.filter((a) => !this.has(a));
    let lastSlot = 0;
    let table = this.tables.find((t) => t.state.addresses.length + missing.length <= TABLE_CAPACITY);
    let cursor = 0;
    if (missing.length > 0 && !table) {
      const recentSlot = await this.connection.getSlot('finalized');
      const [createIx, tableAddress] = AddressLookupTableProgram.createLookupTable({
        authority: this.authority.publicKey,
        payer: this.authority.publicKey,
        recentSlot,
      });
      const first = missing.slice(0, ADDRESSES_PER_EXTEND);
      lastSlot = await this.send([createIx, this.extendIx(tableAddress, first)]);
      cursor = first.length;
      table = new AddressLookupTableAccount({
        key: tableAddress,
        state: {
          deactivationSlot: BigInt('18446744073709551615'),
          lastExtendedSlot: lastSlot,
          lastExtendedSlotStartIndex: 0,
          authority: this.authority.publicKey,
          addresses: [],
        },
      });
      this.tables.push(table);
    }
    while (table && cursor < missing.length) {
      const chunk = missing.slice(cursor, cursor + ADDRESSES_PER_EXTEND);
      lastSlot = await this.send([this.extendIx(table.key, chunk)]);
      cursor += chunk.length;
    }
    if (missing.length > 0 && table) {
      // Addresses added in slot S resolve only from slot S+1 on.
      while ((await this.connection.getSlot('confirmed')) <= lastSlot) await this.sleep(100);
      const fresh = (await this.connection.getAddressLookupTable(table.key)).value;
      if (!fresh) throw new Error(`lookup table ${table.key.toBase58()} not found after creation`);
      this.tables = this.tables.map((t) => (t.key.equals(fresh.key) ? fresh : t));
    }
    return this.tables.filter((t) => unique.some((a) => t.state.addresses.some((x) => x.equals(a))));
  }

  private extendIx(table: PublicKey, addresses: PublicKey[]): TransactionInstruction {
    return AddressLookupTableProgram.extendLookupTable({
      lookupTable: table,
      authority: this.authority.publicKey,
      payer: this.authority.publicKey,
      addresses,
    });
  }
}
