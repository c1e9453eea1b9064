/**
 * Port of remotewrite/sender/rw1_compat_test.go (TestRemoteWrite1Compatibility,
 * TestRemoteWrite1Configuration), run with ferry configured for RW 1.0 (the
 * upstream cases skip themselves when the sender speaks RW 2.0). The
 * metadata case needs `metadata_config` and is an endpoint case.
 *
 * @module
 */

import {
  type Captured,
  check,
  CT_V1,
  type EndpointCase,
  type JobCase,
  type JobView,
  rw1Remote,
} from "../harness.ts";

/** Every request of the job is a decoded RW 1.0 request. */
export function decodedV1(v: JobView): Captured[] {
  const reqs = v.requests;
  check(reqs.length > 0, "no request carried this case's series");
  const bad = v.all.filter((r) => r.error !== "");
  check(bad.length === 0, `${bad.length} requests did not decode: ${bad[0]?.error}`);
  for (const r of reqs) check(r.version === 1, `request #${r.n} is RW ${r.version}, want 1.0`);
  return reqs;
}

export const rw1CompatCases: JobCase[] = [
  {
    name: "rw1_compat_test.go: rw1_version_header",
    level: "SHOULD",
    exposition: "test_metric 42\n",
    check: (v) => {
      for (const r of decodedV1(v)) {
        const ver = r.headers.get("x-prometheus-remote-write-version");
        check(ver === "0.1.0", `X-Prometheus-Remote-Write-Version ${ver}, want 0.1.0`);
      }
    },
  },
  {
    name: "rw1_compat_test.go: rw1_content_type",
    level: "SHOULD",
    exposition: "test_metric 42\n",
    check: (v) => {
      for (const r of decodedV1(v)) {
        const ct = r.headers.get("content-type");
        check(ct === CT_V1, `Content-Type ${ct}, want ${CT_V1} (no proto parameter)`);
      }
    },
  },
  {
    name: "rw1_compat_test.go: rw1_samples_encoding",
    level: "MUST",
    exposition: "test_counter_total 100\n",
    check: (v) => {
      decodedV1(v);
      const s = v.named("test_counter_total")[0];
      check(s?.samples[0]?.v === 100, "test_counter_total 100 missing");
    },
  },
  {
    name: "rw1_compat_test.go: rw1_labels_encoding",
    level: "MUST",
    exposition: 'test_metric{label="value"} 42',
    check: (v) => {
      decodedV1(v);
      const s = v.named("test_metric")[0];
      check(s?.labels.label === "value", "test_metric{label=value} missing");
      for (const x of v.series) {
        for (let i = 1; i < x.pairs.length; i++) {
          check(x.pairs[i - 1][0] < x.pairs[i][0], "labels not sorted");
        }
        check(
          x.pairs.every(([n, val]) => n !== "" && val !== ""),
          "empty label name or value in RW 1.0",
        );
      }
    },
  },
  {
    name: "rw1_compat_test.go: rw1_no_native_histograms",
    level: "MUST",
    exposition:
      '# TYPE test_histogram histogram\ntest_histogram_count 100\ntest_histogram_sum 250.0\ntest_histogram_bucket{le="+Inf"} 100\n',
    check: (v) => {
      decodedV1(v);
      for (const s of v.series) {
        check(s.histograms.length === 0, "classic histograms must not become native ones");
      }
      check(
        v.named("test_histogram_count")[0]?.samples[0]?.v === 100,
        "test_histogram_count missing",
      );
    },
  },
  {
    name: "rw1_compat_test.go: rw1_no_start_timestamp",
    level: "MUST",
    exposition: "# TYPE test_counter counter\ntest_counter_total 100\n",
    check: (v) => {
      decodedV1(v);
      for (const s of v.series) {
        for (const p of s.samples) check(p.st === 0, "RW 1.0 has no start_timestamp");
      }
    },
  },
  {
    name: "rw1_compat_test.go: rw1_symbol_table_not_used",
    level: "MUST",
    exposition:
      'http_requests{method="GET",status="200"} 100\nhttp_requests{method="POST",status="200"} 50\n',
    check: (v) => {
      for (const r of decodedV1(v)) {
        check(r.decoded!.symbols.length === 0, "RW 1.0 has no symbols table");
      }
      check(
        new Set(v.named("http_requests").map((s) => s.labels.method)).size === 2,
        "both series",
      );
    },
  },
  {
    name: "rw1_compat_test.go: TestRemoteWrite1Configuration",
    level: "SHOULD",
    exposition: "test_metric 42\n",
    check: (v) => {
      for (const r of decodedV1(v)) {
        check(
          r.headers.get("x-prometheus-remote-write-version") === "0.1.0",
          "RW 1.0 version header",
        );
      }
    },
  },
];

/** rw1_metadata_handling: RW 1.0 sends metadata in separate requests (metadata_config). */
export const rw1MetadataCase: EndpointCase = {
  name: "rw1_compat_test.go: rw1_metadata_handling (metadata-only requests every send_interval)",
  level: "MAY",
  // A family of its own: metadata requests carry every scraped family, one entry per name.
  exposition:
    "# HELP rw1_meta_metric Test metric description\n# TYPE rw1_meta_metric counter\nrw1_meta_metric 42\n",
  remote: (url) => rw1Remote(url, { metadata_config: { send: true, send_interval: "1s" } }),
  ready: (v) => v.requests.filter((r) => (r.decoded?.metadata ?? 0) > 0).length >= 2,
  check: (v) => {
    const md = v.requests.filter((r) => (r.decoded?.metadata ?? 0) > 0);
    check(md.length >= 2, `${md.length} metadata requests, want one per send_interval (≥ 2)`);
    for (const r of md) {
      check(r.version === 1, "metadata requests are RW 1.0");
      check(r.series.length === 0, "a metadata request carries no series");
    }
    const entries = md.flatMap((r) => r.decoded!.metadataList);
    check(
      entries.some((e) =>
        e.family === "rw1_meta_metric" && e.type === "counter" &&
        e.help === "Test metric description"
      ),
      `rw1_meta_metric's metadata missing: ${JSON.stringify(entries.slice(0, 5))}`,
    );
  },
};
