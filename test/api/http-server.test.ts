/** The API's HTTP server: requests arrive already carrying the prototypes Express gives them. */
import type { AddressInfo } from 'node:net';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import express from 'express';
import { errorHandler, HttpError } from '../../src/api/errors';
import { createHttpServer } from '../../src/api/http-server';
import { createLogger } from '../../src/logger';
import { ErrorType } from '../../src/shared/errors';

const app = express();
app.use(express.json());
app.get('/items/:id', (req, res) => {
  res.set('X-Seen', req.get('x-probe') ?? 'none').json({ id: req.params.id, path: req.path, app: req.app === app });
});
app.post('/items', (req, res) => {
  res.status(201).json({ received: req.body });
});
app.get('/broken', () => {
  throw new HttpError(409, ErrorType.Conflict, 'nope');
});
app.use(errorHandler(createLogger({ level: 'silent', name: 'test' })));

let server: Server;
let base: string;
const prototypes: { request: boolean; response: boolean }[] = [];

beforeAll(async () => {
  server = createHttpServer(app);
  // Runs before Express's handler: what Express's Object.setPrototypeOf would find.
  server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
    prototypes.push({ request: Object.getPrototypeOf(req) === app.request, response: Object.getPrototypeOf(res) === app.response });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

it('builds each request and response on the prototypes Express assigns, so its assignment changes nothing', async () => {
  prototypes.length = 0;
  for (let i = 0; i < 3; i += 1) await (await fetch(`${base}/items/${i}`)).arrayBuffer();
  expect(prototypes).toEqual(Array.from({ length: 3 }, () => ({ request: true, response: true })));
});

it("serves Express's request and response API: params, headers, JSON bodies, status codes, the error handler", async () => {
  const read = await fetch(`${base}/items/a1?x=1`, { headers: { 'x-probe': 'p' } });
  expect([read.status, read.headers.get('x-seen'), await read.json()]).toEqual([200, 'p', { id: 'a1', path: '/items/a1', app: true }]);

  const written = await fetch(`${base}/items`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"n":2}' });
  expect([written.status, await written.json()]).toEqual([201, { received: { n: 2 } }]);

  const broken = await fetch(`${base}/broken`);
  expect(broken.status).toBe(409);
  expect(await broken.json()).toMatchObject({ error: { type: ErrorType.Conflict, message: 'nope' } });
});
