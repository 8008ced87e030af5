/**
 * Activities in MockActivityEnvironment: the fee capture's handling of a balance transaction that is
 * not there yet (Stripe fakes shaped like the SDK's answers), and alert delivery through the outbox
 * to a real local webhook that fails, then recovers.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { MockActivityEnvironment } from '@temporalio/testing';
import { domainErrorInterceptor } from '../../src/activities/errors';
import { ApplicationFailure } from '@temporalio/common';
import type Stripe from 'stripe';
import pino from 'pino';
import { createNotifyActivities } from '../../src/activities/notify';
import { createStripeActivities } from '../../src/activities/stripe';
import type { Db } from '../../src/db/client';
import { freshDb } from '../helpers/db';

let db: Db;
beforeAll(async () => {
  ({ db } = await freshDb());
  await db.product.create({ data: { id: 'prod_fee_test', title: 'Fee test', priceCents: 2500n, rail: 'solana' } });
});
afterAll(async () => {
  await db.$disconnect();
});

function fakeStripe(paymentIntent: Record<string, unknown>): Stripe {
  return {
    paymentIntents: { retrieve: async () => paymentIntent },
    checkout: { sessions: { retrieve: async () => ({ payment_intent: 'pi_fee_test' }) } },
  } as unknown as Stripe;
}

async function purchase(id: string) {
  await db.purchase.create({
    data: {
      id,
      productId: 'prod_fee_test',
      buyerWallet: 'x',
      rail: 'solana',
      status: 'paid',
      grossCents: 2500n,
      checkoutSessionId: `cs_${id}`,
      paymentIntentId: `pi_${id}`,
    },
  });
}

describe('captureStripeFee', () => {
  // With the worker's interceptor: it is what turns the activities' DomainErrors into typed failures.
  const env = new MockActivityEnvironment(undefined, { interceptors: [domainErrorInterceptor] });

  it('throws a retryable fee_not_yet_available while the balance transaction is null', async () => {
    await purchase('pur_fee_pending_1');
    const stripe = fakeStripe({
      id: 'pi_1',
      status: 'succeeded',
      amount_received: 2500,
      latest_charge: { id: 'ch_1', balance_transaction: null },
    });
    const err = await env.run(createStripeActivities({ db, stripe }).captureStripeFee, 'pur_fee_pending_1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err).toMatchObject({ type: 'fee_not_yet_available', nonRetryable: false });
  });

  it('sums only stripe_fee entries of the balance transaction, never an estimate', async () => {
    await purchase('pur_fee_ready_01');
    const stripe = fakeStripe({
      id: 'pi_2',
      status: 'succeeded',
      amount_received: 2500,
      latest_charge: {
        id: 'ch_2',
        balance_transaction: {
          fee_details: [
            { type: 'stripe_fee', amount: 73 },
            { type: 'stripe_fee', amount: 30 },
            { type: 'tax', amount: 9 },
          ],
        },
      },
    });
    await expect(env.run(createStripeActivities({ db, stripe }).captureStripeFee, 'pur_fee_ready_01')).resolves.toEqual({
      grossCents: '2500',
      stripeFeeCents: '103',
      paymentIntentId: 'pi_2',
      chargeId: 'ch_2',
    });
  });

  it('refuses a payment whose amount differs from the price, for good', async () => {
    await purchase('pur_fee_mismatch');
    const stripe = fakeStripe({
      id: 'pi_3',
      status: 'succeeded',
      amount_received: 2400,
      latest_charge: { id: 'ch_3', balance_transaction: { fee_details: [] } },
    });
    await expect(env.run(createStripeActivities({ db, stripe }).captureStripeFee, 'pur_fee_mismatch')).rejects.toMatchObject({
      type: 'validation_failed',
      nonRetryable: true,
    });
  });

  it('a canceled payment intent is final', async () => {
    await purchase('pur_fee_canceled');
    const stripe = fakeStripe({ id: 'pi_4', status: 'canceled', amount_received: 0, latest_charge: null });
    await expect(env.run(createStripeActivities({ db, stripe }).captureStripeFee, 'pur_fee_canceled')).rejects.toMatchObject({
      type: 'payment_not_succeeded',
      nonRetryable: true,
    });
  });
});

describe('alert outbox', () => {
  it('raises an alert once per key, and keeps it until the webhook accepts it', async () => {
    const received: unknown[] = [];
    let failuresLeft = 1;
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        if (failuresLeft > 0) {
          failuresLeft -= 1;
          res.writeHead(503).end();
          return;
        }
        received.push(JSON.parse(body));
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/alerts`;
      const notify = createNotifyActivities({ db, logger: pino({ level: 'silent' }), alertWebhookUrl: url });
      const env = new MockActivityEnvironment();
      const alert = {
        dedupeKey: 'test:treasury-low',
        severity: 'critical' as const,
        kind: 'treasury_low',
        message: 'treasury below $2,000',
      };
      expect(await env.run(notify.raiseAlert, alert)).toEqual({ created: true });
      expect(await env.run(notify.raiseAlert, alert)).toEqual({ created: false });

      await expect(env.run(notify.deliverAlerts)).rejects.toThrow(/could not be delivered/);
      const pending = await db.alertOutbox.findUniqueOrThrow({ where: { dedupeKey: alert.dedupeKey } });
      expect(pending).toMatchObject({ deliveredAt: null, attempts: 1, lastError: expect.stringContaining('503') });

      expect(await env.run(notify.deliverAlerts)).toEqual({ delivered: 1, failed: 0 });
      expect(received).toEqual([expect.objectContaining({ kind: 'treasury_low', severity: 'critical' })]);
      expect(await env.run(notify.deliverAlerts)).toEqual({ delivered: 0, failed: 0 });
    } finally {
      server.close();
    }
  });
});
