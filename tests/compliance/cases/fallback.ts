/**
 * Port of remotewrite/sender/fallback_test.go (TestFallbackBehavior,
 * TestNoFallbackOn2xx), with ferry's `fallback_to_rw1: true`. The upstream
 * receiver answers 415 to the first RW 2.0 request only and accepts
 * everything after; the five upstream cases look at the same exchange, so
 * they share one endpoint here. ferry falls back for good and resends the
 * rejected batch as RW 1.0 at once.
 *
 * @module
 */

import {
  check,
  CT_V1,
  CT_V2,
  type EndpointCase,
  type EndpointView,
  rw2Remote,
} from "../harness.ts";
import { failedCount, notRetried, requests } from "./endpoint_checks.ts";

const version = (v: EndpointView, i: number) =>
  v.requests[i]?.headers.get("x-prometheus-remote-write-version") ?? "";

const fallbackRemote = (url: string) => rw2Remote(url, { fallback_to_rw1: true });

export const fallbackCases: EndpointCase[] = [
  {
    name: "fallback_test.go: fallback_on_415_unsupported_media_type",
    level: "SHOULD",
    group: "fallback",
    remote: fallbackRemote,
    responder: (r) =>
      r.n === 0 && r.version === 2
        ? { status: 415, body: "RW 2.0 not supported, please use RW 1.0" }
        : { status: 204 },
    ready: requests(4),
    check: (v) => {
      check(
        version(v, 0) === "2.0.0" && v.requests[0].status === 415,
        "the first request should be RW 2.0, answered 415",
      );
      check(
        version(v, 1) === "0.1.0",
        `the second request has version ${version(v, 1)}, want 0.1.0`,
      );
    },
  },
  {
    name: "fallback_test.go: retry_with_different_version (the rejected batch is resent as RW 1.0)",
    level: "SHOULD",
    group: "fallback",
    check: (v) => {
      check(v.requests.length >= 2, "want a request after the 415");
      const first = new Set(v.sampleKeys(v.requests[0]));
      const second = v.sampleKeys(v.requests[1]);
      check(
        first.size > 0 && second.length === first.size && second.every((k) => first.has(k)),
        "the second request should carry the rejected samples",
      );
      check(v.requests[1].version === 1, "as RW 1.0");
    },
  },
  {
    name: "fallback_test.go: fallback_header_changes",
    level: "MUST",
    group: "fallback",
    check: (v) => {
      check(v.requests[0]?.headers.get("content-type") === CT_V2, "first Content-Type");
      check(
        v.requests[1]?.headers.get("content-type") === CT_V1,
        `Content-Type after the fallback: ${v.requests[1]?.headers.get("content-type")}`,
      );
    },
  },
  {
    name:
      "fallback_test.go: accept_success_after_fallback (counted as sent; the fallback is a metric)",
    level: "SHOULD",
    group: "fallback",
    check: (v) => {
      check(v.requests.slice(1).every((r) => r.status === 204), "later requests are accepted");
      check(failedCount(v) === 0, `${failedCount(v)} samples counted failed`);
      check(
        v.metric("ferry_remote_storage_protocol_fallbacks_total") === 1,
        "ferry_remote_storage_protocol_fallbacks_total should be 1",
      );
      check(/fall/i.test(v.log) && /415/.test(v.log), "the fallback should be logged");
    },
  },
  {
    name: "fallback_test.go: persistent_fallback_choice",
    level: "SHOULD",
    group: "fallback",
    check: (v) => {
      check(v.requests.length >= 3, `${v.requests.length} requests`);
      for (const r of v.requests.slice(1)) {
        check(r.version === 1, `request #${r.n} is RW ${r.version} after the fallback`);
      }
    },
  },
  {
    name: "fallback_test.go: (ferry) without fallback_to_rw1 a 415 is final",
    level: "SHOULD",
    responder: (r) =>
      r.version === 2 ? { status: 415, body: "RW 2.0 not supported" } : { status: 204 },
    ready: requests(3),
    check: (v) => {
      notRetried(v);
      for (const r of v.requests) check(r.version === 2, `request #${r.n} is RW ${r.version}`);
      check(failedCount(v) > 0, "rejected samples should count as failed");
    },
  },
  {
    name: "fallback_test.go: TestNoFallbackOn2xx",
    level: "MUST",
    remote: fallbackRemote,
    ready: requests(3),
    check: (v) => {
      for (const r of v.requests) {
        check(
          r.headers.get("x-prometheus-remote-write-version") === "2.0.0",
          `request #${r.n} changed version`,
        );
      }
      check(v.metric("ferry_remote_storage_protocol_fallbacks_total") === 0, "no fallback");
    },
  },
];
