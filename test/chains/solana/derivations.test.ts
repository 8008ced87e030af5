/** Remembered derivations give exactly what spl-token derives, and the memo stays bounded. */
import { getAssociatedTokenAddressSync, TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID } from '@solana/spl-token';
import { Keypair } from '@solana/web3.js';
import { associatedTokenAddress, BoundedMemo } from '../../../src/chains/solana/derivations';
import { deriveNftMintKeypair, isValidSolanaWallet } from '../../../src/chains/solana/keys';

it('associatedTokenAddress is getAssociatedTokenAddressSync, for every program and curve flag, asked twice', () => {
  const mint = Keypair.generate().publicKey;
  for (const owner of [Keypair.generate().publicKey, Keypair.generate().publicKey]) {
    for (const program of [TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID]) {
      for (const offCurve of [true, false]) {
        const expected = getAssociatedTokenAddressSync(mint, owner, offCurve, program).toBase58();
        expect(associatedTokenAddress(mint, owner, offCurve, program).toBase58()).toBe(expected);
        expect(associatedTokenAddress(mint, owner, offCurve, program).toBase58()).toBe(expected);
      }
    }
  }
});

it('BoundedMemo computes once per key and drops the oldest entry past its limit', () => {
  const memo = new BoundedMemo<number>(2);
  const compute = jest.fn((n: number) => n * 10);
  expect(memo.get('a', () => compute(1))).toBe(10);
  expect(memo.get('a', () => compute(99))).toBe(10);
  memo.get('b', () => compute(2));
  memo.get('c', () => compute(3)); // drops 'a'
  expect(memo.get('a', () => compute(4))).toBe(40);
  expect(compute).toHaveBeenCalledTimes(4);
});

it('the remembered NFT mint keypair and wallet check answer as before', () => {
  const a = deriveNftMintKeypair('seed-one', 'pur_0000000000000001');
  expect(deriveNftMintKeypair('seed-one', 'pur_0000000000000001').secretKey).toEqual(a.secretKey);
  expect(deriveNftMintKeypair('seed-two', 'pur_0000000000000001').publicKey.equals(a.publicKey)).toBe(false);
  const wallet = Keypair.generate().publicKey.toBase58();
  expect([isValidSolanaWallet(wallet), isValidSolanaWallet(wallet)]).toEqual([true, true]);
  expect(isValidSolanaWallet('not a wallet at all, not base58 0OIl')).toBe(false);
});
