/**
 * Port of remotewrite/sender/response_test.go (TestResponseProcessing,
 * TestContentTypeNegotiation), plus the RW 2.0 rule the issue names: a 2xx
 * without any `X-Prometheus-Remote-Write-*-Written` header means a 1.x
 * receiver, and the batch counts as failed.
 *
 * @module
 */

import { check, CT_V2, type EndpointCase } from "../harness.ts";
import { failedCount, notRetried, requests } from "./endpoint_checks.ts";

const LARGE_ERROR = "Error details: " + "detailed error information; ".repeat(1000);

export const responseCases: EndpointCase[] = [
  {
    name:
      "response_test.go: ignore_response_body_on_success (200 with a body; Deno cannot send a 204 body)",
    level: "SHOULD",
    responder: () => ({ status: 200, body: "This body should be ignored" }),
    ready: requests(3),
    check: (v) => {
      notRetried(v);
      check(failedCount(v) === 0, `${failedCount(v)} samples counted failed`);
      check(v.metric("prometheus_remote_storage_samples_total") > 0, "no samples counted as sent");
    },
  },
  {
    name:
      "response_test.go: process_written_count_headers (ferry counts what was not written as failed)",
    level: "MAY",
    responder: () => ({ status: 204, written: { samples: 3 } }),
    ready: requests(3),
    check: (v) => {
      notRetried(v);
      const sent = v.requests.reduce((a, r) => a + (r.decoded?.samples ?? 0), 0);
      check(sent > 3 * v.requests.length, "each request should carry more than 3 samples");
      check(failedCount(v) > 0, "the samples the receiver did not write should count as failed");
    },
  },
  {
    name:
      "response_test.go: handle_partial_write_response (400 with Samples-Written: 2 is not retried)",
    level: "SHOULD",
    responder: () => ({ status: 400, body: "Rejected 1 sample", written: { samples: 2 } }),
    ready: requests(3),
    check: (v) => {
      notRetried(v);
      check(failedCount(v) > 0, "rejected samples should count as failed");
    },
  },
  {
    name: "response_test.go: handle_missing_written_headers (400 without them)",
    level: "SHOULD",
    responder: () => ({ status: 400, body: "Bad request" }),
    ready: requests(3),
    check: (v) => {
      notRetried(v);
      check(failedCount(v) > 0, "rejected samples should count as failed");
    },
  },
  {
    name:
      "response_test.go: handle_missing_written_headers (2xx to RW 2.0 without them counts as failed)",
    level: "MUST",
    responder: () => ({ status: 204, written: "none" }),
    ready: requests(3),
    check: (v) => {
      notRetried(v);
      check(failedCount(v) > 0, "a 2xx without Written headers should count the batch as failed");
      check(
        /RW 1\.x receiver|1\.x receiver/.test(v.log),
        "ferry should say the receiver looks like RW 1.x",
      );
    },
  },
  {
    name: "response_test.go: log_error_messages_verbatim",
    level: "MUST",
    responder: () => ({ status: 400, body: "Error: Invalid label name '__invalid__'" }),
    check: (v) => {
      check(
        v.log.includes("Error: Invalid label name '__invalid__'"),
        "ferry's log should carry the receiver's error message as is",
      );
    },
  },
  {
    name: "response_test.go: handle_large_error_body (28 KB: logged truncated, not retried)",
    level: "SHOULD",
    responder: () => ({ status: 400, body: LARGE_ERROR }),
    ready: requests(2),
    check: (v) => {
      notRetried(v);
      const lines = v.log.split("\n").filter((l) => l.includes("detailed error information"));
      check(lines.length > 0, "the error should be logged");
      for (const l of lines) check(l.length < 4096, `a log line of ${l.length} bytes`);
    },
  },
  {
    name: "response_test.go: handle_204_no_content",
    level: "MUST",
    group: "accept",
    ready: requests(3),
    check: (v) => {
      notRetried(v);
      check(failedCount(v) === 0, `${failedCount(v)} samples counted failed`);
      check(v.metric("prometheus_remote_storage_samples_total") > 0, "no samples counted as sent");
    },
  },
  {
    name: "response_test.go: TestContentTypeNegotiation",
    level: "SHOULD",
    group: "accept",
    check: (v) => {
      const ct = v.requests[0]?.headers.get("content-type");
      check(ct === CT_V2, `first Content-Type ${ct}`);
    },
  },
  {
    name: "response_test.go: handle_200_ok",
    level: "MUST",
    responder: () => ({ status: 200, body: "OK" }),
    ready: requests(3),
    check: (v) => {
      notRetried(v);
      check(failedCount(v) === 0, `${failedCount(v)} samples counted failed`);
    },
  },
];
