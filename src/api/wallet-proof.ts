/**
 * Proof that the caller holds a creator wallet, for the public earnings routes. The wallet signs a
 * short message naming itself, the route and the time; the request carries it in two headers:
 *
 *   X-Wallet-Message:   base64 of the UTF-8 message
 *   X-Wallet-Signature: base64 of the 64-byte ed25519 signature (Solana), or the 0x-hex 65-byte
 *                       EIP-191 `personal_sign` signature (EVM)
 *
 * The message is exactly (lines joined by "\n"):
 *
 *   settlement-engine: prove wallet ownership
 *   wallet: <wallet>
 *   route: GET <path, e.g. /api/creators/<wallet>/earnings>
 *   issuedAt: <ISO 8601 time>
 *
 * A proof older than WALLET_PROOF_MAX_AGE (or more than a minute in the future), for another
 * wallet or route, or with a bad signature is refused with 401 `unauthorized`.
 */
import { ed25519 } from '@noble/curves/ed25519';
import bs58 from 'bs58';
import { verifyMessage } from 'ethers';
import type { RequestHandler } from 'express';
import { ErrorType } from '../shared/errors';
import { HttpError } from './errors';
import { EVM_WALLET_PATTERN, SOLANA_WALLET_PATTERN } from './validators';

export const WALLET_MESSAGE_HEADER = 'X-Wallet-Message';
export const WALLET_SIGNATURE_HEADER = 'X-Wallet-Signature';
const FUTURE_SKEW_MS = 60_000;

export function walletProofMessage(wallet: string, route: string, issuedAt: Date): string {
  return [
    'settlement-engine: prove wallet ownership',
    `wallet: ${wallet}`,
    `route: GET ${route}`,
    `issuedAt: ${issuedAt.toISOString()}`,
  ].join('\n');
}

const refuse = (message: string) => new HttpError(401, ErrorType.Unauthorized, message);

function signatureValid(wallet: string, message: string, signature: string): boolean {
  try {
    if (EVM_WALLET_PATTERN.test(wallet)) {
      if (!/^0x[0-9a-fA-F]{130}$/.test(signature)) return false;
      return verifyMessage(message, signature).toLowerCase() === wallet.toLowerCase();
    }
    if (SOLANA_WALLET_PATTERN.test(wallet)) {
      const sig = Buffer.from(signature, 'base64');
      const key = bs58.decode(wallet);
      if (sig.length !== 64 || key.length !== 32) return false;
      return ed25519.verify(sig, new TextEncoder().encode(message), key);
    }
  } catch {
    return false;
  }
  return false;
}

/** Verify the proof for the `wallet` path parameter and this request's path. */
export function requireWalletProof({ maxAgeMs, now = () => new Date() }: { maxAgeMs: number; now?: () => Date }): RequestHandler {
  return (req, _res, next) => {
    const wallet = String(req.params.wallet ?? '');
    const encoded = req.get(WALLET_MESSAGE_HEADER);
    const signature = req.get(WALLET_SIGNATURE_HEADER);
    if (!encoded || !signature)
      return next(refuse(`a signed ownership proof is required (${WALLET_MESSAGE_HEADER} and ${WALLET_SIGNATURE_HEADER})`));
    const message = Buffer.from(encoded, 'base64').toString('utf8');
    const fields = new Map(
      message
        .split('\n')
        .slice(1)
        .map((line) => {
          const i = line.indexOf(': ');
          return [line.slice(0, i), line.slice(i + 2)] as const;
        }),
    );
    const route = `${req.baseUrl}${req.path}`;
    const issuedAt = new Date(fields.get('issuedAt') ?? '');
    if (
      Number.isNaN(issuedAt.getTime()) ||
      message !== walletProofMessage(fields.get('wallet') ?? '', (fields.get('route') ?? '').replace(/^GET /, ''), issuedAt)
    ) {
      return next(refuse('the ownership proof is not in the expected format'));
    }
    if (fields.get('wallet') !== wallet) return next(refuse('the ownership proof names another wallet'));
    if (fields.get('route') !== `GET ${route}`) return next(refuse('the ownership proof names another route'));
    const age = now().getTime() - issuedAt.getTime();
    if (age > maxAgeMs) return next(refuse('the ownership proof has expired; sign a new one'));
    if (age < -FUTURE_SKEW_MS) return next(refuse('the ownership proof is dated in the future'));
    if (!signatureValid(wallet, message, signature)) return next(refuse("the signature does not verify against the wallet's key"));
    next();
  };
}
