/**
 * `npm start`'s dev Stripe as its own supervised process:
 *   node --import tsx src/dev/dev-stripe/main.ts --port <p> --upstream <stripe-mock url> --state <file>
 */
import { parseArgs } from 'node:util';
import { startDevStripe } from './server';

async function main() {
  const { values } = parseArgs({ options: { port: { type: 'string' }, upstream: { type: 'string' }, state: { type: 'string' }, host: { type: 'string' } } });
  if (!values.port || !values.upstream) throw new Error('usage: main.ts --port <port> --upstream <stripe-mock url> [--state <file>]');
  const devStripe = await startDevStripe({ port: Number(values.port), host: values.host ?? '127.0.0.1', upstream: values.upstream, stateFile: values.state });
  console.log(`dev Stripe on ${devStripe.url} (forwarding to ${values.upstream})`);
  const stop = () => void devStripe.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
