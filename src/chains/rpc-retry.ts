import { DomainError, ErrorType } from '../shared/errors';

/** Tries of one unanswered RPC call before it fails the settlement attempt, and the pause between. */
const RPC_ATTEMPTS = 3;
const RPC_RETRY_MS = 150;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * One chain RPC call, tried again in place when the node did not answer (a 503, a dropped
 * connection, a timeout) so that one lost request does not fail a whole settlement attempt and wait
 * out Temporal's backoff. `translate` turns a raw failure into what the caller throws; only one it
 * types `RpcUnavailable` is retried, so chain verdicts and non-chain errors pass through at once. An
 * error the call itself already typed (say, a confirmation that did not come in time) is the
 * caller's own decision and is thrown as it is. Callers route only reads and resends of already-signed bytes through here, where
 * repeating the call is safe.
 */
export async function withRpcRetry<T>(call: () => Promise<T>, translate: (err: unknown) => unknown): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await call();
    } catch (err) {
      if (err instanceof DomainError) throw err;
      const typed = translate(err);
      if (!(typed instanceof DomainError) || typed.type !== ErrorType.RpcUnavailable || attempt >= RPC_ATTEMPTS) throw typed;
      await sleep(RPC_RETRY_MS * attempt);
    }
  }
}
