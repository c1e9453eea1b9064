/**
 * The remote-write sender compliance port, RW 2.0 encoding: the cases of
 * samples, labels, timestamps, histograms, exemplars, metadata, symbols,
 * protocol, batching, edge_cases and combined (github.com/prometheus/compliance,
 * remotewrite/sender), run against one ferry configured as the suite's
 * reference sender (RW 2.0, send_exemplars, metadata, 1 s scrapes of
 * OpenMetrics or text), one scrape job per case; plus native histograms from
 * protobuf scrapes (cases/native_histograms.ts).
 */

import { runSuite } from "./harness.ts";
import { batchingCases } from "./cases/batching.ts";
import { combinedCases } from "./cases/combined.ts";
import { edgeCases } from "./cases/edge_cases.ts";
import { exemplarCases } from "./cases/exemplars.ts";
import { histogramCases } from "./cases/histograms.ts";
import { labelCases } from "./cases/labels.ts";
import { metadataCases } from "./cases/metadata.ts";
import { nativeHistogramCases } from "./cases/native_histograms.ts";
import { protocolCases } from "./cases/protocol.ts";
import { sampleCases } from "./cases/samples.ts";
import { symbolCases } from "./cases/symbols.ts";
import { timestampCases } from "./cases/timestamps.ts";

Deno.test({
  name:
    "compliance: RW 2.0 encoding (samples, labels, timestamps, histograms, exemplars, metadata, symbols, protocol, batching, edge cases, combined)",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: (t) =>
    runSuite(t, {
      protocol: "v2",
      // The suite's reference config, plus native histograms for the protobuf-scrape cases.
      remote: { send_native_histograms: true },
      jobCases: [
        ...sampleCases,
        ...labelCases,
        ...timestampCases,
        ...histogramCases,
        ...nativeHistogramCases,
        ...exemplarCases,
        ...metadataCases,
        ...symbolCases,
        ...protocolCases,
        ...batchingCases,
        ...edgeCases,
        ...combinedCases,
      ],
    }),
});
