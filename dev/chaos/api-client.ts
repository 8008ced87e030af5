/**
 * The chaos run's HTTP client for the engine's API: the API is killed on purpose, so a request that
 * meets a dead process, a 5xx or a 429 is retried with backoff, as a browser or an operator would.
 */
export class ApiClient {
  retries = 0;

  constructor(
    private readonly base: string,
    private readonly adminToken: string,
  ) {}

  /** One answer that is not a retryable failure; throws after `attempts` retryable ones. */
  async call(
    method: string,
    path: string,
    body?: unknown,
    opts: { admin?: boolean; attempts?: number } = {},
  ): Promise<{ status: number; json: unknown }> {
    const attempts = opts.attempts ?? 30;
    let wait = 250;
    for (let attempt = 1; ; attempt += 1) {
      try {
        const res = await fetch(`${this.base}${path}`, {
          method,
          headers: {
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
            ...(opts.admin ? { authorization: `Bearer ${this.adminToken}` } : {}),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(15_000),
        });
        const text = await res.text();
        if (res.status < 500 && res.status !== 429) return { status: res.status, json: text ? (JSON.parse(text) as unknown) : null };
        if (attempt >= attempts) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 200)} after ${attempt} attempts`);
      } catch (err) {
        if (attempt >= attempts) throw err;
      }
      this.retries += 1;
      await new Promise((resolve) => setTimeout(resolve, wait));
      wait = Math.min(4_000, wait * 2);
    }
  }
}
