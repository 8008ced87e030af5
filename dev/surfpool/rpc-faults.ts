/**
 * A JSON-RPC fault proxy in front of Surfpool, for the tests and the chaos run: HTTP and WebSocket
 * pass through unchanged except for the faults `dev_injectFault` arms (a method the proxy answers
 * itself; Surfpool never sees it):
 *
 * - `loseNextTransaction` (`count`, default 1): the next sends are lost between the RPC node and the
 *   leader. Like a node, the proxy runs preflight first (a `simulateTransaction` upstream, unless
 *   the client skipped preflight): a transaction that fails it is forwarded, so Surfpool rejects it
 *   with its own preflight error and the fault stays armed; one that passes is answered with its
 *   signature and never forwarded, so it never executes.
 * - `delayConfirmation` (`ms`): the next transaction executes at once, but its status
 *   (`getSignatureStatuses`, `getTransaction`) and its signature notifications stay hidden for `ms`.
 * - `expireBlockhash`: the node produces 151 blocks at once (`expireBlockhashes`, SIGUSR1 to
 *   dev/surfpool's binary), so every blockhash handed out so far is expired; answered once the block
 *   height shows it.
 * - `failNextRequests` (`n`): the next `n` HTTP requests get 503.
 * - `failRequestsAfterNextSend` (`n`): the same, starting right after the next successful send (a
 *   lost confirmation).
 * - `clear`.
 */
import http from 'node:http';
import bs58 from 'bs58';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { z } from 'zod';

const faultSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('loseNextTransaction'), count: z.number().int().positive().optional() }),
  z.object({ kind: z.literal('delayConfirmation'), ms: z.number().int().nonnegative() }),
  z.object({ kind: z.literal('expireBlockhash') }),
  z.object({ kind: z.literal('failNextRequests'), n: z.number().int().nonnegative() }),
  z.object({ kind: z.literal('failRequestsAfterNextSend'), n: z.number().int().nonnegative() }),
  z.object({ kind: z.literal('clear') }),
]);
export type Fault = z.infer<typeof faultSchema>;

const requestSchema = z.object({
  jsonrpc: z.literal('2.0').optional(),
  id: z.union([z.string(), z.number(), z.null()]).optional(),
  method: z.string(),
  params: z.array(z.unknown()).optional(),
});
type RpcRequest = z.infer<typeof requestSchema>;
const bodySchema = z.union([requestSchema, z.array(requestSchema)]);
const responseSchema = z.looseObject({ id: z.union([z.string(), z.number(), z.null()]).optional(), result: z.unknown().optional() });
const sendConfigSchema = z
  .looseObject({
    encoding: z.enum(['base58', 'base64']).optional(),
    skipPreflight: z.boolean().optional(),
    preflightCommitment: z.string().optional(),
  })
  .optional();
const simulationSchema = z.object({ result: z.object({ value: z.object({ err: z.unknown() }) }).optional() });
const heightSchema = z.object({ result: z.number() });
const notificationSchema = z.object({ method: z.string(), params: z.object({ subscription: z.number() }) });

/** Blocks a blockhash stays valid for, plus one. */
const BLOCKHASH_EXPIRY_BLOCKS = 151;

export interface RpcFaultProxy {
  rpcUrl: string;
  wsUrl: string;
  inject(fault: Fault): Promise<void>;
  close(): Promise<void>;
}

export interface RpcFaultProxyOptions {
  /** Surfpool's HTTP and WebSocket URLs. */
  upstreamRpcUrl: string;
  upstreamWsUrl: string;
  host?: string;
  /** HTTP on `port`, the WebSocket on `wsPort` (web3.js expects `port + 1`); 0 picks a free one. */
  port: number;
  wsPort: number;
  /** Makes the node produce 151 blocks at once (SIGUSR1 to the surfpool process). */
  expireBlockhashes: () => void;
}

interface Armed {
  lose: number;
  delayMs: number;
  failRequests: number;
  failAfterSend: number;
}

const jsonRpcError = (id: RpcRequest['id'], code: number, message: string) => ({
  jsonrpc: '2.0',
  error: { code, message },
  id: id ?? null,
});

/** The first signature of a wire transaction (a compact-u16 count, then 64-byte signatures). */
function firstSignature(wire: string, encoding: 'base58' | 'base64'): string | undefined {
  try {
    const raw = encoding === 'base64' ? Buffer.from(wire, 'base64') : Buffer.from(bs58.decode(wire));
    let offset = 0;
    let count = 0;
    for (let shift = 0; offset < raw.length; shift += 7) {
      const byte = raw[offset++] ?? 0;
      count |= (byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) break;
    }
    if (count < 1 || raw.length < offset + 64) return undefined;
    return bs58.encode(raw.subarray(offset, offset + 64));
  } catch {
    return undefined;
  }
}

export async function startRpcFaultProxy(opts: RpcFaultProxyOptions): Promise<RpcFaultProxy> {
  const armed: Armed = { lose: 0, delayMs: 0, failRequests: 0, failAfterSend: 0 };
  /** signature → when its status becomes visible */
  const hidden = new Map<string, number>();
  const isHidden = (signature: unknown) => {
    if (typeof signature !== 'string') return false;
    const until = hidden.get(signature);
    if (until === undefined) return false;
    if (Date.now() < until) return true;
    hidden.delete(signature);
    return false;
  };

  const upstream = async (body: unknown): Promise<unknown> => {
    const res = await fetch(opts.upstreamRpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    return res.json();
  };

  const inject = async (fault: Fault): Promise<void> => {
    switch (fault.kind) {
      case 'loseNextTransaction':
        armed.lose += fault.count ?? 1;
        return;
      case 'delayConfirmation':
        armed.delayMs = fault.ms;
        return;
      case 'expireBlockhash': {
        // Surfpool's surfnet_timeTravel moves the slot but keeps every blockhash valid: blocks it is.
        const height = async () =>
          heightSchema.parse(await upstream({ jsonrpc: '2.0', id: 1, method: 'getBlockHeight', params: [{ commitment: 'processed' }] }))
            .result;
        const before = await height();
        opts.expireBlockhashes();
        while ((await height()) < before + BLOCKHASH_EXPIRY_BLOCKS) await new Promise((r) => setTimeout(r, 20));
        return;
      }
      case 'failNextRequests':
        armed.failRequests = fault.n;
        return;
      case 'failRequestsAfterNextSend':
        armed.failAfterSend = fault.n;
        return;
      case 'clear':
        Object.assign(armed, { lose: 0, delayMs: 0, failRequests: 0, failAfterSend: 0 });
        hidden.clear();
        return;
    }
  };

  /** A lost send: preflight upstream like a node would, then answer the signature without forwarding. */
  const loseSend = async (req: RpcRequest): Promise<unknown> => {
    const [wire, rawConfig] = req.params ?? [];
    const config = sendConfigSchema.safeParse(rawConfig);
    const encoding = config.success ? (config.data?.encoding ?? 'base58') : 'base58';
    const signature = typeof wire === 'string' ? firstSignature(wire, encoding) : undefined;
    if (signature === undefined || !config.success) return undefined;
    if (config.data?.skipPreflight !== true) {
      const simulation = simulationSchema.safeParse(
        await upstream({
          jsonrpc: '2.0',
          id: 1,
          method: 'simulateTransaction',
          params: [wire, { encoding, sigVerify: true, commitment: config.data?.preflightCommitment ?? 'processed' }],
        }),
      );
      // Failing preflight (or not simulable): forwarded, so the node's own rejection answers it.
      if (!simulation.success || simulation.data.result?.value.err !== null) return undefined;
    }
    armed.lose -= 1;
    return { jsonrpc: '2.0', result: signature, id: req.id ?? null };
  };

  /** What the client sees of an upstream answer while a delayed signature is hidden. */
  const rewrite = (req: RpcRequest, answer: unknown): unknown => {
    const parsed = responseSchema.safeParse(answer);
    if (!parsed.success || parsed.data.result === undefined) return answer;
    const res = parsed.data;
    if (req.method === 'sendTransaction' && typeof res.result === 'string') {
      if (armed.delayMs > 0) {
        hidden.set(res.result, Date.now() + armed.delayMs);
        armed.delayMs = 0;
      }
      return answer;
    }
    if (hidden.size === 0) return answer;
    if (req.method === 'getTransaction' && isHidden(req.params?.[0])) return { ...res, result: null };
    if (req.method === 'getSignatureStatuses') {
      const signatures = z.array(z.string()).safeParse(req.params?.[0]);
      const value = z.looseObject({ value: z.array(z.unknown()) }).safeParse(res.result);
      if (signatures.success && value.success) {
        const statuses = value.data.value.map((status, i) => (isHidden(signatures.data[i]) ? null : status));
        return { ...res, result: { ...value.data, value: statuses } };
      }
    }
    return answer;
  };

  const handle = async (req: RpcRequest): Promise<unknown> => {
    const lost = req.method === 'sendTransaction' && armed.lose > 0 ? await loseSend(req) : undefined;
    const answer = lost ?? rewrite(req, await upstream(req));
    // A send the client saw succeed (executed or lost) arms the failures that follow it.
    if (req.method === 'sendTransaction' && armed.failAfterSend > 0 && typeof responseSchema.safeParse(answer).data?.result === 'string') {
      armed.failRequests = armed.failAfterSend;
      armed.failAfterSend = 0;
    }
    return answer;
  };

  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const reply = (status: number, body: unknown) => {
        response.writeHead(status, { 'content-type': 'application/json' });
        response.end(JSON.stringify(body));
      };
      void (async () => {
        let json: unknown;
        try {
          json = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          return reply(200, jsonRpcError(null, -32700, 'Parse error'));
        }
        const body = bodySchema.safeParse(json);
        if (body.success && !Array.isArray(body.data) && body.data.method === 'dev_injectFault') {
          const fault = faultSchema.safeParse(body.data.params?.[0]);
          if (!fault.success) return reply(200, jsonRpcError(body.data.id, -32602, `Invalid params: ${fault.error.message}`));
          await inject(fault.data);
          return reply(200, { jsonrpc: '2.0', result: { ok: true }, id: body.data.id ?? null });
        }
        if (armed.failRequests > 0) {
          armed.failRequests -= 1;
          return reply(503, jsonRpcError(null, -32603, 'injected fault: service unavailable'));
        }
        // Not JSON-RPC the proxy understands: Surfpool answers it.
        if (!body.success) return reply(200, await upstream(json));
        if (Array.isArray(body.data)) return reply(200, await Promise.all(body.data.map(handle)));
        return reply(200, await handle(body.data));
      })().catch((err: unknown) => reply(502, jsonRpcError(null, -32603, `upstream: ${String(err)}`)));
    });
  });

  // WebSocket: one upstream socket per client. Signature notifications of a hidden signature are
  // held until it becomes visible.
  const wss = new WebSocketServer({ noServer: true });
  const wsServer = http.createServer();
  wsServer.on('upgrade', (request, socket, head) => wss.handleUpgrade(request, socket, head, (client) => wss.emit('connection', client)));
  wss.on('connection', (client: WebSocket) => {
    const up = new WebSocket(opts.upstreamWsUrl);
    const queued: RawData[] = [];
    /** JSON-RPC id of a signatureSubscribe → its signature; subscription id → signature. */
    const pendingSubscribe = new Map<string, string>();
    const subscriptions = new Map<number, string>();
    client.on('message', (data) => {
      const req = requestSchema.safeParse(safeJson(data));
      if (req.success && req.data.method === 'signatureSubscribe' && typeof req.data.params?.[0] === 'string') {
        pendingSubscribe.set(String(req.data.id), req.data.params[0]);
      }
      if (up.readyState === WebSocket.OPEN) up.send(data);
      else queued.push(data);
    });
    up.on('open', () => {
      for (const data of queued.splice(0)) up.send(data);
    });
    up.on('message', (data) => {
      const json = safeJson(data);
      const answer = responseSchema.safeParse(json);
      if (answer.success && typeof answer.data.result === 'number' && pendingSubscribe.has(String(answer.data.id))) {
        subscriptions.set(answer.data.result, pendingSubscribe.get(String(answer.data.id)) ?? '');
        pendingSubscribe.delete(String(answer.data.id));
      }
      const note = notificationSchema.safeParse(json);
      const signature =
        note.success && note.data.method === 'signatureNotification' ? subscriptions.get(note.data.params.subscription) : undefined;
      const until = signature === undefined ? undefined : hidden.get(signature);
      const forward = () => {
        if (client.readyState === WebSocket.OPEN) client.send(data.toString());
      };
      if (until !== undefined && until > Date.now()) setTimeout(forward, until - Date.now()).unref();
      else forward();
    });
    const closeBoth = () => {
      client.close();
      up.close();
    };
    client.on('close', closeBoth);
    up.on('close', closeBoth);
    client.on('error', closeBoth);
    up.on('error', closeBoth);
  });

  const host = opts.host ?? '127.0.0.1';
  const listen = (s: http.Server, port: number) =>
    new Promise<number>((resolve, reject) => {
      s.once('error', reject);
      s.listen(port, host, () => {
        const address = s.address();
        if (typeof address === 'object' && address !== null) resolve(address.port);
        else reject(new Error(`no port for ${host}:${port}`));
      });
    });
  const port = await listen(server, opts.port);
  const wsPort = await listen(wsServer, opts.wsPort);
  return {
    rpcUrl: `http://${host}:${port}`,
    wsUrl: `ws://${host}:${wsPort}`,
    inject,
    async close() {
      for (const client of wss.clients) client.terminate();
      server.closeAllConnections();
      await Promise.all([new Promise((r) => server.close(r)), new Promise((r) => wsServer.close(r)), new Promise((r) => wss.close(r))]);
    },
  };
}

function safeJson(data: RawData): unknown {
  try {
    return JSON.parse(data.toString());
  } catch {
    return undefined;
  }
}
