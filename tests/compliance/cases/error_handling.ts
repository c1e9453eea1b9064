/**
 * Port of remotewrite/sender/error_handling_test.go (TestErrorHandling,
 * TestNetworkErrors). Upstream only checks that the sender survives; this
 * port also checks what ferry does with each failure: network errors and
 * timeouts are retried, a 2xx without Written headers (the upstream
 * "partial", "malformed" and "empty" responses are all such 2xx answers)
 * counts as failed under RW 2.0, other statuses follow the retry rules.
 *
 * Not ported: dns_resolution_failure (resolving a name would leave the
 * loopback interface, which these tests must not do); invalid_url_scheme is
 * its own test in responses_test.ts (ferry rejects such a config at load).
 *
 * @module
 */

import { freePort } from "../../helpers.ts";
import {
  check,
  type EndpointCase,
  type EndpointView,
  type RawServer,
  rw2Remote,
} from "../harness.ts";
import {
  attemptsOfFirst,
  exitedCleanly,
  failedCount,
  ms,
  notRetried,
  requests,
  retried,
  retryIntervals,
} from "./endpoint_checks.ts";

/** A 2xx without Written headers under RW 2.0: counted failed, not retried, ferry keeps going. */
function twoHundredWithout(name: string, body: string): EndpointCase {
  return {
    name,
    level: "SHOULD",
    responder: () => ({ status: 200, body, written: "none" }),
    ready: requests(3),
    check: (v) => {
      notRetried(v);
      check(
        failedCount(v) > 0,
        "a 2xx without Written headers should count as failed under RW 2.0",
      );
      exitedCleanly(v);
    },
  };
}

/** Time since ferry started ≥ ms. */
const after = (t: number) => (v: EndpointView) => performance.now() - v.startedAt >= t;

/** The error-handling cases; `raw` answers invalid HTTP. */
export function errorHandlingCases(
  raw: { invalidStatus: RawServer; malformed: RawServer },
): EndpointCase[] {
  return [
    {
      name: "error_handling_test.go: handle_connection_refused (retried, nothing dropped)",
      level: "SHOULD",
      url: `http://127.0.0.1:${freePort()}/api/v1/write`,
      ready: after(4000),
      check: (v) => {
        check(
          v.metric("prometheus_remote_storage_samples_retried_total") > 0,
          "no retries counted",
        );
        check(failedCount(v) === 0, "samples were dropped");
        check(v.metric("prometheus_remote_storage_samples_pending") > 0, "nothing pending");
        exitedCleanly(v);
      },
    },
    {
      name: "error_handling_test.go: handle_timeout (remote_timeout 300ms; retried)",
      level: "SHOULD",
      remote: (url) => rw2Remote(url, { remote_timeout: "300ms", queue_config: { max_shards: 1 } }),
      responder: () => ({ status: 204, delayMs: 2000 }),
      ready: attemptsOfFirst(3),
      check: (v) => {
        retried(v);
        const iv = retryIntervals(v);
        // Each attempt gives up after 300 ms, long before the receiver's 2 s answer.
        check(iv.length >= 2, `want ≥ 2 retries, got ${iv.length}`);
        for (const x of iv) check(x >= 280, `attempts ${ms(iv)} apart; the timeout is 300 ms`);
        check(iv[0] < 1500, `first retry after ${iv[0].toFixed(0)} ms: the timeout did not cut it`);
        exitedCleanly(v);
      },
    },
    twoHundredWithout(
      'error_handling_test.go: handle_partial_write (200 "partial", no Written headers)',
      "partial",
    ),
    twoHundredWithout(
      "error_handling_test.go: handle_malformed_response (200 with a text body, no Written headers)",
      "Not valid response headers\r\n",
    ),
    {
      name:
        "error_handling_test.go: handle_malformed_response (not HTTP at all: retried as a network error)",
      level: "SHOULD",
      url: raw.malformed.url,
      ready: () => raw.malformed.requests >= 3,
      check: (v) => {
        check(raw.malformed.requests >= 2, `${raw.malformed.requests} requests`);
        check(
          v.metric("prometheus_remote_storage_samples_retried_total") > 0,
          "no retries counted",
        );
        exitedCleanly(v);
      },
    },
    {
      name: "error_handling_test.go: sender_continues_after_errors",
      level: "MUST",
      group: "500",
      check: (v) => {
        check(v.requests.length >= 3, `${v.requests.length} requests`);
        check(
          v.metric("prometheus_remote_storage_samples_pending") > 0,
          "the endpoint should still hold its data",
        );
        exitedCleanly(v);
      },
    },
    {
      name:
        "error_handling_test.go: handle_invalid_status_code (HTTP 999: dropped as not retryable, as Prometheus)",
      level: "SHOULD",
      url: raw.invalidStatus.url,
      ready: () => raw.invalidStatus.requests >= 2,
      check: (v) => {
        check(raw.invalidStatus.requests >= 1, "no request");
        // Neither 2xx, 5xx nor 429: a permanent failure.
        check(failedCount(v) > 0, "the samples should count as failed");
        check(v.metric("prometheus_remote_storage_samples_retried_total") === 0, "not retried");
        exitedCleanly(v);
      },
    },
    twoHundredWithout(
      "error_handling_test.go: handle_empty_response (200, empty, no Written headers)",
      "",
    ),
    {
      name: "error_handling_test.go: handle_large_error_response (400 with 1 MiB)",
      level: "SHOULD",
      responder: () => ({ status: 400, body: "x".repeat(1 << 20) }),
      ready: requests(2),
      check: (v) => {
        notRetried(v);
        check(failedCount(v) > 0, "rejected samples should count as failed");
        const long = v.log.split("\n").filter((l) => l.length > 8192);
        check(long.length === 0, `${long.length} log lines over 8 KiB`);
        exitedCleanly(v);
      },
    },
  ];
}
