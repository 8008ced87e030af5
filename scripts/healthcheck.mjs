#!/usr/bin/env node
// Container health check without curl: exit 0 when the URL answers 2xx within 2 seconds.
//   node scripts/healthcheck.mjs http://127.0.0.1:3000/healthz        (the API)
//   node scripts/healthcheck.mjs http://127.0.0.1:9464/metrics        (the worker's SDK metrics)
const url = process.argv[2] ?? 'http://127.0.0.1:3000/healthz';
try {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  process.exit(res.ok ? 0 : 1);
} catch {
  process.exit(1);
}
