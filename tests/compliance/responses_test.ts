/**
 * The remote-write sender compliance port, receiver behaviour: the cases of
 * response, retry, backoff, error_handling and fallback
 * (github.com/prometheus/compliance, remotewrite/sender), plus RW 1.0
 * metadata requests — one ferry, one remote-write endpoint per case (or per
 * group of cases with the same setup), each answered as its case scripts.
 */

import { assert, assertStringIncludes } from "../../src/testing/assert.ts";
import { RawServer, runSuite, startAgent } from "./harness.ts";
import { backoffCases } from "./cases/backoff.ts";
import { errorHandlingCases } from "./cases/error_handling.ts";
import { fallbackCases } from "./cases/fallback.ts";
import { responseCases } from "./cases/response.ts";
import { retryCases } from "./cases/retry.ts";
import { rw1MetadataCase } from "./cases/rw1_compat.ts";

/** What the endpoints without their own target send. */
const SHARED = `# HELP test_metric Test metric
# TYPE test_metric gauge
test_metric 42
test_counter_total{label="a"} 100
test_counter_total{label="b"} 200
test_gauge{label="c"} 50
sample_1 1
sample_2 2
sample_3 3
`;

Deno.test({
  name: "compliance: responses, retries, backoff, error handling, fallback",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async (t) => {
    const raw = {
      invalidStatus: new RawServer(
        "HTTP/1.1 999 Weird\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
      ),
      malformed: new RawServer("Not valid response headers\r\n\r\n"),
    };
    try {
      await runSuite(t, {
        protocol: "v2",
        shared: SHARED,
        // Groups are configured by their first case: backoff before retry.
        endpointCases: [
          ...backoffCases,
          ...retryCases,
          ...responseCases,
          ...errorHandlingCases(raw),
          ...fallbackCases,
          rw1MetadataCase,
        ],
      });
    } finally {
      await raw.invalidStatus.close();
      await raw.malformed.close();
    }
  },
});

Deno.test({
  name:
    "compliance: error_handling_test.go: invalid_url_scheme (ferry rejects the config at load, naming the URL) [SHOULD]",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const agent = await startAgent({
      global: { scrape_interval: "1s" },
      remote_write: [{ url: "invalid://localhost:9999" }],
      scrape_configs: [{ job_name: "test", static_configs: [{ targets: ["127.0.0.1:1"] }] }],
    });
    const status = await Promise.race([
      agent.proc.child.status,
      new Promise<null>((r) => setTimeout(() => r(null), 15_000)),
    ]);
    await agent.stop();
    assert(status !== null, "ferry should exit at once on an invalid remote-write URL");
    assert(status.code !== 0, "with a failure exit code");
    assertStringIncludes(agent.proc.output(), "invalid://localhost:9999");
  },
});
