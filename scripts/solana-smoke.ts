/**
 * Independent smoke check of a running Solana RPC using only @solana/web3.js and @solana/spl-token:
 *   tsx scripts/solana-smoke.ts [rpcUrl]   (default http://127.0.0.1:8899)
 */
import { Connection, Keypair, LAMPORTS_PER_SOL } from '@solana/web3.js';
import { createMint, getOrCreateAssociatedTokenAccount, mintTo, transfer, getAccount } from '@solana/spl-token';

async function main(): Promise<void> {
  const url = process.argv[2] ?? 'http://127.0.0.1:8899';
  const connection = new Connection(url, 'confirmed');
  console.log('version', await connection.getVersion());
  const payer = Keypair.generate();
  const airdropSig = await connection.requestAirdrop(payer.publicKey, 2 * LAMPORTS_PER_SOL);
  const bh = await connection.getLatestBlockhash();
  await connection.confirmTransaction({ signature: airdropSig, ...bh }, 'confirmed');
  console.log('airdrop', airdropSig, 'balance', await connection.getBalance(payer.publicKey));

  const mint = await createMint(connection, payer, payer.publicKey, null, 6);
  console.log('mint', mint.toBase58());
  const alice = await getOrCreateAssociatedTokenAccount(connection, payer, mint, payer.publicKey);
  const bob = Keypair.generate();
  const bobAta = await getOrCreateAssociatedTokenAccount(connection, payer, mint, bob.publicKey);
  console.log('token accounts', alice.address.toBase58(), bobAta.address.toBase58());
  const mintSig = await mintTo(connection, payer, mint, alice.address, payer, 1_000_000n);
  console.log('mintTo', mintSig);
  const transferSig = await transfer(connection, payer, alice.address, bobAta.address, payer, 250_000n);
  console.log('transfer', transferSig);
  const a = await getAccount(connection, alice.address);
  const b = await getAccount(connection, bobAta.address);
  console.log('balances', { alice: a.amount.toString(), bob: b.amount.toString() });
  if (a.amount !== 750_000n || b.amount !== 250_000n) throw new Error('unexpected balances');
  console.log('OK');
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
