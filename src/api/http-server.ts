/**
 * The API's HTTP server. Express gives every request and response its application's prototypes
 * (`Object.setPrototypeOf(req, app.request)` in `app.handle`). Changing an object's prototype after
 * it is built makes V8 keep that request's young objects through the next scavenge: at 1,000
 * status reads a second, about a third of the young generation survived each scavenge and was
 * promoted, so a scavenge paused the API for 4–9 ms every quarter of a second and the promoted
 * garbage brought mark-compacts of about 20 ms. With the same Express app on a plain
 * `node:http` server built here, nothing survived and a scavenge took under 1 ms.
 *
 * So the server builds each request and response from classes whose prototypes already are the
 * application's: Express's call then finds the prototype it would set in place and changes nothing.
 */
import { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Express } from 'express';

export function createHttpServer(app: Express): Server {
  class ApiRequest extends IncomingMessage {}
  class ApiResponse extends ServerResponse {}
  // Each class's prototype sits in front of the application's, inheriting everything Express put
  // there (req.get, res.json, req.app…), and becomes the prototype Express assigns.
  Object.setPrototypeOf(ApiRequest.prototype, app.request);
  Object.setPrototypeOf(ApiResponse.prototype, app.response);
  Object.defineProperty(app, 'request', { value: ApiRequest.prototype, configurable: true, enumerable: true, writable: true });
  Object.defineProperty(app, 'response', { value: ApiResponse.prototype, configurable: true, enumerable: true, writable: true });
  return new Server({ IncomingMessage: ApiRequest, ServerResponse: ApiResponse }, app);
}
