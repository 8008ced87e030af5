/**
 * One signer, many concurrent workflows: nonces are handed out one at a time in-process. The
 * next nonce advances only after a send succeeds; any failure resyncs from the node's pending
 * count, because after a failed broadcast we cannot know whether the nonce was consumed.
 */
export class NonceAllocator {
  private nextNonce: number | undefined;
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly pendingNonce: () => Promise<number>) {}

  /** Runs `send` with the next nonce, serialised against every other caller. */
  withNonce<T>(send: (nonce: number) => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      this.nextNonce ??= await this.pendingNonce();
      const nonce = this.nextNonce;
      try {
        const result = await send(nonce);
        this.nextNonce = nonce + 1;
        return result;
      } catch (err) {
        this.nextNonce = undefined;
        throw err;
      }
    };
    const result = this.tail.then(run, run);
    this.tail = result.catch(() => undefined);
    return result;
  }

  /** Forget the local counter (a dropped transaction left a gap, or another process used the key). */
  resync(): void {
    this.nextNonce = undefined;
  }
}
