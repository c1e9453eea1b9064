/**
 * Port of remotewrite/sender/backoff_test.go (TestBackoffBehavior): the
 * intervals between attempts of one batch, with one shard so the attempts
 * are consecutive, `min_backoff: 50ms` and `max_backoff: 800ms` (the suite
 * waits 20 s per case with Prometheus' defaults). Plus `Retry-After` on a
 * 503, which replaces the backoff (issue 6; Prometheus does the same).
 *
 * @module
 */

import { check, type EndpointCase, rw2Remote } from "../harness.ts";
import { attemptsOfFirst, ms, retried, retryIntervals } from "./endpoint_checks.ts";

const MIN = 50, MAX = 800;
const backoffRemote = (url: string) =>
  rw2Remote(url, {
    queue_config: {
      min_shards: 1,
      max_shards: 1,
      min_backoff: `${MIN}ms`,
      max_backoff: `${MAX}ms`,
    },
  });

export const backoffCases: EndpointCase[] = [
  {
    name: "backoff_test.go: exponential_backoff_on_retries",
    level: "SHOULD",
    group: "503",
    remote: backoffRemote,
    responder: () => ({ status: 503, body: "Service unavailable" }),
    ready: attemptsOfFirst(7),
    check: (v) => {
      const iv = retryIntervals(v);
      check(iv.length >= 5, `want ≥ 5 retries of the first batch, got ${iv.length}`);
      // The suite's ratio ≥ 0.8, less 60 ms for timer and scheduling noise on a busy machine.
      for (let i = 1; i < iv.length; i++) {
        check(iv[i] >= 0.8 * iv[i - 1] - 60, `interval ${i} shrank: ${ms(iv)}`);
      }
      const last = iv[iv.length - 1];
      check(last >= 4 * MIN && last >= iv[0], `intervals did not grow: ${ms(iv)}`);
    },
  },
  {
    name: "backoff_test.go: backoff_required",
    level: "MUST",
    group: "503",
    check: (v) => {
      retried(v);
      const iv = retryIntervals(v);
      check(iv.length >= 1, "want at least one retry");
      for (const x of iv) check(x >= MIN * 0.9, `an interval shorter than min_backoff: ${ms(iv)}`);
    },
  },
  {
    name: "backoff_test.go: backoff_max_delay",
    level: "SHOULD",
    group: "502",
    remote: backoffRemote,
    responder: () => ({ status: 502, body: "Bad gateway" }),
    ready: attemptsOfFirst(7),
    check: (v) => {
      const iv = retryIntervals(v);
      check(iv.length >= 5, `want ≥ 5 retries, got ${iv.length}`);
      // Upstream allows 60 s; here: not much more than max_backoff (scheduling noise aside).
      for (const x of iv) {
        check(x <= 2 * MAX, `an interval well over max_backoff ${MAX} ms: ${ms(iv)}`);
      }
      check(Math.max(...iv) >= MAX * 0.9, `max_backoff never reached: ${ms(iv)}`);
    },
  },
  {
    name: "backoff_test.go: backoff_with_jitter (ferry backs off without jitter, as Prometheus)",
    level: "RECOMMENDED",
    group: "503",
    check: (v) => check(retryIntervals(v).length >= 2, "want ≥ 3 attempts to look at"),
  },
  {
    name: "backoff_test.go: (ferry) Retry-After on 503 replaces the backoff",
    level: "SHOULD",
    remote: backoffRemote,
    responder: () => ({
      status: 503,
      headers: { "Retry-After": "2" },
      body: "Service unavailable",
    }),
    ready: attemptsOfFirst(3),
    check: (v) => {
      const iv = retryIntervals(v);
      check(iv.length >= 2, `want ≥ 2 retries, got ${iv.length}`);
      for (const x of iv) {
        check(x >= 1900 && x < 4500, `retried after ${ms(iv)}; Retry-After asked for 2 s`);
      }
    },
  },
];
