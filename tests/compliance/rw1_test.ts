/**
 * The remote-write sender compliance port, RW 1.0: rw1_compat_test.go of
 * remotewrite/sender and the older RW 1.0 sender cases
 * (remote_write_sender/cases), against one ferry with the default protocol.
 */

import { runSuite } from "./harness.ts";
import { nativeHistogramRw1Cases } from "./cases/native_histograms.ts";
import { rw1CompatCases } from "./cases/rw1_compat.ts";
import { rw1LegacyCases, rw1LegacyEndpointCases } from "./cases/rw1_legacy.ts";

Deno.test({
  name: "compliance: RW 1.0 (rw1_compat_test.go and the older RW 1.0 sender cases)",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: (t) =>
    runSuite(t, {
      protocol: "v1",
      // Native histograms need send_native_histograms (as in Prometheus).
      remote: { send_native_histograms: true },
      jobCases: [...rw1CompatCases, ...nativeHistogramRw1Cases, ...rw1LegacyCases],
      endpointCases: rw1LegacyEndpointCases,
    }),
});
