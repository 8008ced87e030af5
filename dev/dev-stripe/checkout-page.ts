/**
 * The dev Stripe's hosted Checkout page, at a session's `url`: what the buyer buys and three ways
 * the card can go (pay, declined, pay then refunded from the dashboard). Server-rendered HTML with
 * its script and styles served from the same origin, no inline code and no external assets, under a
 * strict Content-Security-Policy. The buttons call the `/_dev` control surface (the same endpoints
 * `client.ts` calls), so the page, the demo and the tests pay the same way.
 */
import type { LineItem, StripeObject } from './store';

export const CHECKOUT_ASSET_PATH = '/checkout/assets';

export const CHECKOUT_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'";

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Minor units as the currency's major unit, in integer arithmetic (two-decimal currencies). */
function formatAmount(minor: number, currency: string): string {
  const cents = BigInt(minor);
  const sign = cents < 0n ? '-' : '';
  const abs = cents < 0n ? -cents : cents;
  const major = (abs / 100n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const amount = `${major}.${(abs % 100n).toString().padStart(2, '0')}`;
  return currency.toLowerCase() === 'usd' ? `${sign}$${amount}` : `${sign}${amount} ${currency.toUpperCase()}`;
}

function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<link rel="icon" href="${CHECKOUT_ASSET_PATH}/favicon.svg">
<link rel="stylesheet" href="${CHECKOUT_ASSET_PATH}/checkout.css">
</head>
<body>
<main>
<p class="banner">Dev Stripe · test mode: no card network is involved</p>
${body}
</main>
</body>
</html>
`;
}

export function renderCheckoutPage(session: StripeObject, lineItems: readonly LineItem[]): string {
  const currency = typeof session.currency === 'string' ? session.currency : 'usd';
  const total = typeof session.amount_total === 'number' ? session.amount_total : 0;
  const id = escapeHtml(session.id);
  const items = lineItems
    .map(
      (li) =>
        `<tr class="line-item"><td class="name">${escapeHtml(li.name)}</td><td class="quantity">× ${li.quantity}</td><td class="price">${formatAmount(li.unitAmount * li.quantity, li.currency)}</td></tr>`,
    )
    .join('\n');
  const status = String(session.status);
  const open = status === 'open';
  const actions = open
    ? `<div class="actions">
<button type="button" id="pay" data-action="pay">Pay ${formatAmount(total, currency)}</button>
<button type="button" id="decline" data-action="decline">Decline</button>
<button type="button" id="pay-then-refund" data-action="pay-then-refund">Pay, then refund</button>
</div>`
    : `<p id="done" class="done">${status === 'complete' ? 'This purchase is paid.' : `This checkout session is ${escapeHtml(status)}.`}</p>`;
  return layout(
    `Pay ${formatAmount(total, currency)}`,
    `<section id="checkout" data-session-id="${id}" data-status="${escapeHtml(status)}">
<h1>Checkout</h1>
<table class="items">
${items}
<tr class="total"><td>Total</td><td></td><td id="total">${formatAmount(total, currency)}</td></tr>
</table>
${actions}
<p id="message" role="status"></p>
</section>
<script src="${CHECKOUT_ASSET_PATH}/checkout.js"></script>`,
  );
}

/** The done state, when the session's `success_url` is not served by anything reachable. */
export function renderDonePage(session: StripeObject, refunded: boolean): string {
  const currency = typeof session.currency === 'string' ? session.currency : 'usd';
  const total = typeof session.amount_total === 'number' ? session.amount_total : 0;
  const successUrl = typeof session.success_url === 'string' ? session.success_url : '';
  return layout(
    'Payment complete',
    `<section id="done" data-session-id="${escapeHtml(session.id)}">
<h1>${refunded ? 'Paid, then refunded' : 'Payment complete'}</h1>
<p class="done">${formatAmount(total, currency)} ${refunded ? 'was charged and refunded in full' : 'was charged'}. Stripe has sent the webhooks to the engine.</p>
${successUrl ? `<p class="note">Stripe would now open <code>${escapeHtml(successUrl)}</code>, which nothing serves here.</p>` : ''}
</section>`,
  );
}

export const CHECKOUT_FAVICON_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#635bff"/></svg>';

export const CHECKOUT_CSS = `body { font-family: system-ui, sans-serif; background: #f6f9fc; color: #1a1f36; margin: 0; }
main { max-width: 28rem; margin: 3rem auto; background: #fff; padding: 2rem; border-radius: 8px; box-shadow: 0 2px 8px rgba(0,0,0,.08); }
.banner { font-size: .8rem; color: #a05a00; background: #fff4e0; padding: .4rem .6rem; border-radius: 4px; }
table { width: 100%; border-collapse: collapse; margin: 1rem 0; }
td { padding: .4rem 0; } td.price, #total { text-align: right; } .total td { border-top: 1px solid #e3e8ee; font-weight: 600; }
.actions { display: flex; flex-direction: column; gap: .5rem; }
button { font: inherit; padding: .7rem; border: 0; border-radius: 6px; cursor: pointer; background: #635bff; color: #fff; }
button#decline { background: #e3e8ee; color: #1a1f36; } button#pay-then-refund { background: #fff; color: #635bff; border: 1px solid #635bff; }
button:disabled { opacity: .5; cursor: wait; }
#message { min-height: 1.2rem; } #message.error { color: #c0123c; }
`;

export const CHECKOUT_JS = `'use strict';
(function () {
  var root = document.getElementById('checkout');
  if (!root) return;
  var sessionId = root.getAttribute('data-session-id');
  var message = document.getElementById('message');
  var buttons = Array.prototype.slice.call(document.querySelectorAll('button[data-action]'));
  function say(text, isError) { message.textContent = text; message.className = isError ? 'error' : ''; }
  function busy(on) { buttons.forEach(function (b) { b.disabled = on; }); }
  function post(path, body) {
    return fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body || {}) })
      .then(function (res) { return res.json().then(function (json) { return { ok: res.ok, json: json }; }); });
  }
  function pay() { return post('/_dev/checkout/sessions/' + encodeURIComponent(sessionId) + '/pay'); }
  function finish(refunded) { window.location.assign('/checkout/' + encodeURIComponent(sessionId) + '/return' + (refunded ? '?refunded=1' : '')); }
  function failed(r) { busy(false); say((r.json && r.json.error && r.json.error.message) || 'The dev Stripe refused the request.', true); }
  var actions = {
    pay: function () {
      say('Processing…');
      return pay().then(function (r) { if (!r.ok) return failed(r); finish(false); });
    },
    decline: function () {
      say('Processing…');
      return post('/_dev/checkout/sessions/' + encodeURIComponent(sessionId) + '/decline').then(function (r) {
        if (!r.ok) return failed(r);
        busy(false);
        say('Your card was declined. Try again, or use another outcome.', true);
      });
    },
    'pay-then-refund': function () {
      say('Processing…');
      return pay().then(function (r) {
        if (!r.ok) return failed(r);
        say('Paid. Refunding…');
        return post('/_dev/payment_intents/' + encodeURIComponent(r.json.paymentIntent.id) + '/refund').then(function (rr) {
          if (!rr.ok) return failed(rr);
          finish(true);
        });
      });
    },
  };
  buttons.forEach(function (button) {
    button.addEventListener('click', function () {
      busy(true);
      actions[button.getAttribute('data-action')]().catch(function (err) { busy(false); say(String(err), true); });
    });
  });
})();
`;
