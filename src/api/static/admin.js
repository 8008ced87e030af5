/* global document, window, prompt, uPlot */
// Admin page: everything it shows comes from the admin API, called with the token pasted below
// (kept in sessionStorage only, so it leaves with the tab). No framework, no build step.
(function () {
  'use strict';
  var KEY = 'settlementAdminToken';
  var $ = function (id) {
    return document.getElementById(id);
  };
  var uiBase = document.body.getAttribute('data-temporal-ui') || '';
  var timer = null;

  function token() {
    return sessionStorage.getItem(KEY) || '';
  }
  function setMessage(text, isError) {
    var m = $('message');
    m.textContent = text;
    m.className = isError ? 'error' : 'ok';
  }
  function api(method, path, body) {
    var headers = { authorization: 'Bearer ' + token() };
    if (body !== undefined) headers['content-type'] = 'application/json';
    return fetch(path, { method: method, headers: headers, body: body === undefined ? undefined : JSON.stringify(body) }).then(
      function (res) {
        return res.text().then(function (text) {
          var json = text ? JSON.parse(text) : {};
          if (!res.ok) throw new Error(res.status + ' ' + ((json.error && json.error.message) || res.statusText));
          return json;
        });
      },
    );
  }
  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === 'text') e.textContent = attrs[k];
      else e.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) {
      if (c) e.appendChild(c);
    });
    return e;
  }
  function link(href, text) {
    return el('a', { href: href, target: '_blank', rel: 'noopener', text: text });
  }
  function button(label, onClick) {
    var b = el('button', { type: 'button', text: label, 'data-action': label });
    b.addEventListener('click', function () {
      b.disabled = true;
      onClick()
        .then(function (r) {
          setMessage(label + ': ' + JSON.stringify(r));
          return refresh();
        })
        .catch(function (err) {
          setMessage(label + ' failed: ' + err.message, true);
        })
        .then(function () {
          b.disabled = false;
        });
    });
    return b;
  }
  function purchaseActions(purchaseId, status, workflowId, runId) {
    var td = el('td', { class: 'actions' });
    if (status === 'awaiting_approval') {
      td.appendChild(
        button('approve', function () {
          return api('POST', '/admin/purchases/' + purchaseId + '/approve', {});
        }),
      );
      td.appendChild(
        button('reject', function () {
          var reason = prompt('Reason for rejecting ' + purchaseId + '?');
          return reason
            ? api('POST', '/admin/purchases/' + purchaseId + '/reject', { reason: reason })
            : Promise.reject(new Error('a reason is required'));
        }),
      );
    }
    if (workflowId) {
      td.appendChild(
        button('retry', function () {
          return api('POST', '/admin/purchases/' + purchaseId + '/retry', {});
        }),
      );
      td.appendChild(
        button('reset', function () {
          return api('POST', '/admin/workflows/' + workflowId + '/reset', { to: 'last', runId: runId });
        }),
      );
      td.appendChild(
        button('cancel', function () {
          return api('POST', '/admin/workflows/' + workflowId + '/cancel', {});
        }),
      );
      td.appendChild(
        button('terminate', function () {
          var reason = prompt('Terminate skips compensations. Reason?');
          return reason
            ? api('POST', '/admin/workflows/' + workflowId + '/terminate', { reason: reason })
            : Promise.reject(new Error('a reason is required'));
        }),
      );
    }
    return td;
  }
  function fill(tbodyId, rows) {
    var tbody = $(tbodyId);
    tbody.textContent = '';
    rows.forEach(function (r) {
      tbody.appendChild(r);
    });
    if (rows.length === 0) tbody.appendChild(el('tr', {}, [el('td', { colspan: '9', class: 'empty', text: 'none' })]));
  }
  function usdc(micro) {
    return micro == null ? '' : (Number(BigInt(micro) / 10000n) / 100).toFixed(2);
  }
  function cents(c) {
    return c == null ? '' : (Number(c) / 100).toFixed(2);
  }

  function render(data) {
    var t = data.treasury;
    $('treasury').textContent = '';
    [
      ['balance (USDC)', usdc(t.balanceMicroUsdc)],
      ['open holds', usdc(t.openHoldsMicroUsdc)],
      ['available', usdc(t.availableMicroUsdc)],
      ['runway (days)', t.runwayDays == null ? 'n/a' : String(t.runwayDays)],
      ['health', t.health],
    ].forEach(function (kv) {
      $('treasury').appendChild(el('div', { class: 'stat' }, [el('span', { text: kv[0] }), el('strong', { text: kv[1] })]));
    });
    function wfRows(list) {
      return list.map(function (w) {
        var p = w.purchase || {};
        return el('tr', { 'data-workflow-id': w.workflowId }, [
          el('td', {}, [link(w.temporalUiUrl, w.workflowId)]),
          el('td', { class: 'status', text: w.purchaseStatus || w.executionStatus }),
          el('td', { text: cents(p.grossCents) }),
          el('td', { text: (w.stuckReasons || []).concat(w.lastFailure ? [w.lastFailure] : []).join('; ') }),
          purchaseActions(p.purchaseId || w.workflowId.replace(/^purchase-/, ''), w.purchaseStatus, w.workflowId, w.runId),
        ]);
      });
    }
    fill('stuck', wfRows(data.stuck));
    fill('awaiting', wfRows(data.awaiting));
    fill(
      'purchases',
      data.recentPurchases.map(function (p) {
        return el('tr', { 'data-purchase-id': p.purchaseId }, [
          el('td', {}, [link(p.temporalUiUrl, p.purchaseId)]),
          el('td', { class: 'status', text: p.status }),
          el('td', { text: cents(p.grossCents) }),
          el('td', { text: p.rail }),
          el('td', { text: p.updatedAt }),
          purchaseActions(p.purchaseId, p.status, null, null),
        ]);
      }),
    );
    $('updated').textContent = 'updated ' + new Date().toLocaleTimeString();
  }
  // Charts (uPlot, served by the engine): fetched less often than the tables, drawn once and updated in place.
  var charts = {};
  var chartsAt = 0;
  var COLORS = ['#1565c0', '#64b5f6', '#2e7d32', '#81c784'];
  function seconds(iso) {
    return Date.parse(iso) / 1000;
  }
  // Display only: micro-USDC to a float number of USDC for plotting (the tables show exact figures).
  function usdcFloat(micro) {
    return Number(BigInt(micro)) / 1e6;
  }
  function compact(v) {
    var a = Math.abs(v);
    return a >= 1e9
      ? (v / 1e9).toFixed(1) + 'B'
      : a >= 1e6
        ? (v / 1e6).toFixed(1) + 'M'
        : a >= 1e4
          ? (v / 1e3).toFixed(0) + 'k'
          : String(Math.round(v * 100) / 100);
  }
  function chart(id, series, data) {
    var width = Math.max(320, Math.min(560, ($(id).parentNode.parentNode.clientWidth || 1000) / 2 - 20));
    if (charts[id]) {
      charts[id].setData(data);
      return;
    }
    var x = { time: true };
    // A single point (one reconciliation so far): a two-week range around it instead of uPlot's default span.
    if (data[0].length === 1)
      x.range = function () {
        return [data[0][0] - 7 * 86400, data[0][0] + 7 * 86400];
      };
    charts[id] = new uPlot(
      {
        width: width,
        height: 220,
        series: [{}].concat(series),
        scales: { x: x },
        axes: [
          {},
          {
            size: 64,
            values: function (u, vals) {
              return vals.map(compact);
            },
          },
        ],
      },
      data,
      $(id),
    );
  }
  function renderCharts(c) {
    var first = c.treasury[0] ? c.treasury[0].points : [];
    var tData = [
      first.map(function (p) {
        return seconds(p.at);
      }),
    ];
    var tSeries = [];
    c.treasury.forEach(function (t, i) {
      tData.push(
        t.points.map(function (p) {
          return usdcFloat(p.balanceMicroUsdc);
        }),
      );
      tData.push(
        t.points.map(function (p) {
          return usdcFloat(p.availableMicroUsdc);
        }),
      );
      tSeries.push({ label: t.rail + ' balance', stroke: COLORS[(i * 2) % 4], width: 2 });
      tSeries.push({ label: t.rail + ' available', stroke: COLORS[(i * 2 + 1) % 4], dash: [6, 4] });
    });
    chart('chart-treasury', tSeries, tData);
    var bars = uPlot.paths && uPlot.paths.bars ? uPlot.paths.bars({ size: [0.8, 40] }) : undefined;
    chart(
      'chart-outcomes',
      [
        { label: 'settled', stroke: '#2e7d32', fill: 'rgba(46,125,50,0.35)', paths: bars },
        { label: 'failed', stroke: '#b00020', fill: 'rgba(176,0,32,0.45)', paths: bars },
      ],
      [
        c.outcomes.map(function (o) {
          return seconds(o.hourStart);
        }),
        c.outcomes.map(function (o) {
          return o.settled;
        }),
        c.outcomes.map(function (o) {
          return o.failed;
        }),
      ],
    );
    chart(
      'chart-runway',
      [{ label: 'runway (days)', stroke: '#6a1b9a', width: 2, points: { show: true, size: 6 } }],
      [
        c.reconciliations.map(function (r) {
          return seconds(r.periodEnd);
        }),
        c.reconciliations.map(function (r) {
          return r.runwayDays;
        }),
      ],
    );
    fill(
      'reconciliations',
      c.reconciliations
        .slice()
        .reverse()
        .map(function (r) {
          var list = el(
            'ul',
            {},
            r.discrepancies.map(function (d) {
              return el('li', { text: d.kind + ' ' + d.reference + ': expected ' + d.expected + ', found ' + d.actual });
            }),
          );
          return el('tr', { 'data-reconciliation-id': r.id }, [
            el('td', { text: r.periodStart.slice(0, 10) + ' – ' + r.periodEnd.slice(0, 10) }),
            el('td', { text: String(r.purchaseCount) }),
            el('td', { text: usdc(r.frontedMicroUsdc) }),
            el('td', { text: r.runwayDays == null ? 'n/a' : String(r.runwayDays) }),
            el('td', { class: 'health', text: r.health }),
            el('td', { class: 'discrepancies' }, r.discrepancies.length ? [list] : [el('span', { class: 'ok', text: 'none' })]),
          ]);
        }),
    );
  }
  function refreshCharts() {
    if (!token() || typeof uPlot === 'undefined' || Date.now() - chartsAt < 30000) return Promise.resolve();
    chartsAt = Date.now();
    return api('GET', '/admin/dashboard/charts.json')
      .then(function (c) {
        renderCharts(c);
        document.body.setAttribute('data-charts', 'ready');
      })
      .catch(function (err) {
        chartsAt = 0;
        setMessage('charts failed: ' + err.message, true);
      });
  }
  function refresh() {
    refreshCharts();
    if (!token()) {
      setMessage('Paste the admin token to load the dashboard.', false);
      return Promise.resolve();
    }
    return api('GET', '/admin/dashboard.json')
      .then(render)
      .catch(function (err) {
        setMessage('load failed: ' + err.message, true);
      });
  }
  $('token-form').addEventListener('submit', function (e) {
    e.preventDefault();
    sessionStorage.setItem(KEY, $('token').value.trim());
    $('token').value = '';
    chartsAt = 0;
    setMessage('token stored for this tab');
    refresh();
  });
  $('forget').addEventListener('click', function () {
    sessionStorage.removeItem(KEY);
    setMessage('token forgotten');
  });
  $('temporal-ui').setAttribute('href', uiBase);
  refresh();
  timer = setInterval(refresh, 2000);
  window.addEventListener('beforeunload', function () {
    clearInterval(timer);
  });
})();
