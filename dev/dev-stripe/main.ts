/**
 * `npm start`'s dev Stripe as its own supervised process:
 *   node --import tsx dev/dev-stripe/main.ts --port <p> --upstream <stripe-mock url> --state <file> [--webhook-url <url>]
 * With `--webhook-url` it POSTs every event it produces there, signed with STRIPE_WEBHOOK_SECRET, and
 * retries until the endpoint takes it; without, drivers deliver the events themselves.
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../../src/config';
import { startDevStripe } from './server';

async function main() {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      upstream: { type: 'string' },
      state: { type: 'string' },
      host: { type: 'string' },
      'webhook-url': { type: 'string' },
    },
  });
  if (!values.port || !values.upstream)
    throw new Error('usage: main.ts --port <port> --upstream <stripe-mock url> [--state <file>] [--webhook-url <url>]');
  const webhookUrl = values['webhook-url'];
  const devStripe = await startDevStripe({
    port: Number(values.port),
    host: values.host ?? '127.0.0.1',
    upstream: values.upstream,
    stateFile: values.state,
    webhooks: webhookUrl ? { url: webhookUrl, secret: loadConfig().STRIPE_WEBHOOK_SECRET } : undefined,
    log: (line) => console.log(line),
  });
  console.log(`dev Stripe on ${devStripe.url} (forwarding to ${values.upstream}${webhookUrl ? `; webhooks to ${webhookUrl}` : ''})`);
  const stop = () => void devStripe.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
