/**
 * Port of remotewrite/sender/retry_test.go (TestRetryBehavior). The upstream
 * cases count requests over 8 s (≤ 2 for "no retry"), which depends on how
 * often the sender batches; this port checks the property itself: a
 * rejected sample is never sent again (and no request is marked
 * `Retry-Attempt`), a retried one is.
 *
 * 413 is where ferry differs on purpose (issue 6): a batch answered 413 is
 * split in halves that are sent one after the other, recursively; it is never
 * resent whole, and a part too small to be the problem (a single item, or a
 * body under 4 KiB) is dropped.
 *
 * @module
 */

import {
  type Captured,
  check,
  type EndpointCase,
  type EndpointView,
  rw2Remote,
} from "../harness.ts";
import {
  attemptsOfFirst,
  batchKey,
  failedCount,
  ms,
  notRetried,
  requests,
  retried,
  retryIntervals,
} from "./endpoint_checks.ts";

/** `status` always; not retried. */
function noRetry(status: number, body: string): EndpointCase {
  return {
    name: `retry_test.go: no_retry_on_${status}`,
    level: "MUST",
    responder: () => ({ status, body }),
    ready: requests(3),
    check: (v) => {
      notRetried(v);
      check(failedCount(v) > 0, "rejected samples should count as failed");
    },
  };
}

/** `status` always; retried. */
function retry(
  status: number,
  body: string,
  level: "MUST" | "SHOULD",
  group?: string,
): EndpointCase {
  return {
    name: `retry_test.go: retry_on_${status}`,
    level,
    group,
    responder: () => ({ status, body }),
    ready: attemptsOfFirst(3),
    check: (v) => {
      retried(v);
      check(failedCount(v) === 0, "retried samples must not be counted as failed");
    },
  };
}

/** 600 series with random label values: a batch whose compressed body is well over 4 KiB. */
const BIG = Array.from({ length: 600 }, (_, i) => {
  const id = [...crypto.getRandomValues(new Uint8Array(12))].map((b) =>
    b.toString(16).padStart(2, "0")
  ).join("");
  return `big_metric{id="${id}"} ${i}\n`;
}).join("");

/** Sample keys of a request as a set. */
function keys(v: EndpointView, r: Captured): Set<string> {
  return new Set(v.sampleKeys(r));
}

export const retryCases: EndpointCase[] = [
  noRetry(400, "Bad request"),
  noRetry(401, "Unauthorized"),
  noRetry(404, "Not found"),
  {
    name: "retry_test.go: may_retry_on_429 (retry_on_http_429: true; Retry-After: 1 is honoured)",
    level: "MAY",
    remote: (url) => rw2Remote(url, { queue_config: { retry_on_http_429: true, max_shards: 1 } }),
    responder: () => ({ status: 429, headers: { "Retry-After": "1" }, body: "Too many requests" }),
    ready: attemptsOfFirst(3),
    check: (v) => {
      retried(v);
      const iv = retryIntervals(v);
      check(iv.length >= 2, `want ≥ 2 retries, got ${iv.length}`);
      for (const x of iv) check(x >= 950, `retried after ${ms(iv)}; Retry-After asked for 1 s`);
    },
  },
  {
    name: "retry_test.go: may_retry_on_429 (Retry-After as an HTTP date)",
    level: "MAY",
    remote: (url) => rw2Remote(url, { queue_config: { retry_on_http_429: true, max_shards: 1 } }),
    responder: () => ({
      status: 429,
      headers: { "Retry-After": new Date(Date.now() + 3000).toUTCString() },
      body: "Too many requests",
    }),
    ready: attemptsOfFirst(2),
    check: (v) => {
      retried(v);
      const iv = retryIntervals(v);
      // The date has whole seconds: 3 s ahead means a wait of 2–3 s.
      for (const x of iv) {
        check(x >= 1900 && x < 4000, `retried after ${ms(iv)}; Retry-After asked for 2–3 s`);
      }
    },
  },
  {
    name:
      "retry_test.go: may_retry_on_429 (default retry_on_http_429: false drops it, as Prometheus)",
    level: "MAY",
    responder: () => ({ status: 429, headers: { "Retry-After": "1" }, body: "Too many requests" }),
    ready: requests(3),
    check: (v) => {
      notRetried(v);
      check(failedCount(v) > 0, "dropped samples should count as failed");
    },
  },
  retry(500, "Internal server error", "MUST", "500"),
  retry(503, "Service unavailable", "MUST", "503"),
  retry(502, "Bad gateway", "SHOULD", "502"),
  retry(504, "Gateway timeout", "SHOULD"),
  {
    name:
      "retry_test.go: no_retry_on_413 (ferry splits the batch in halves, never resends it whole, drops small parts)",
    level: "SHOULD",
    exposition: BIG,
    remote: (url) => rw2Remote(url, { queue_config: { max_shards: 1, min_shards: 1 } }),
    responder: () => ({ status: 413, body: "Payload too large" }),
    ready: requests(7),
    check: (v) => {
      const rs = v.requests;
      check(rs.length > 0 && rs[0].body.length >= 4096, "the first request should be over 4 KiB");
      check(new Set(rs.map((r) => batchKey(v, r))).size === rs.length, "a batch was sent twice");
      // With one shard the requests of a batch are consecutive: the batch,
      // then (if it was large enough to split) its first half's tree, then
      // its second half's tree — depth first.
      const walk = (i: number, want: Set<string>): number => {
        if (i >= rs.length) return -1;
        const r = rs[i], got = keys(v, r);
        check(
          got.size === want.size && [...got].every((k) => want.has(k)),
          `request #${r.n} should carry ${want.size} samples of the split batch, has ${got.size}`,
        );
        check(r.status === 413, "answered 413");
        if (r.body.length < 4096 || got.size < 2) return i + 1; // dropped
        if (i + 1 >= rs.length) return -1;
        const a = keys(v, rs[i + 1]);
        const half = got.size / 2;
        check(
          a.size === Math.floor(half) || a.size === Math.ceil(half),
          `request #${rs[i + 1].n}: ${a.size} samples is not half of ${got.size}`,
        );
        const j = walk(i + 1, a);
        if (j < 0) return -1;
        return walk(j, new Set([...got].filter((k) => !a.has(k))));
      };
      let trees = 0;
      for (let i = 0; i >= 0 && i < rs.length;) {
        i = walk(i, keys(v, rs[i]));
        if (i >= 0) trees++;
      }
      check(trees >= 1, "no batch was split completely");
      check(failedCount(v) > 0, "dropped parts should count as failed");
    },
  },
];
