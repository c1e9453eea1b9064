/**
 * Port of remotewrite/sender/symbols_test.go (TestSymbolTable,
 * TestSymbolTableEfficiency): the RW 2.0 symbols table. Out-of-range or odd
 * `labels_refs` make ferry's decoder reject the request, so "every request
 * decoded" is part of the reference checks.
 *
 * @module
 */

import { type Captured, check, type JobCase, type JobView } from "../harness.ts";

/** Every request of the job is RW 2.0 and decoded. */
export function decodedV2(v: JobView): Captured[] {
  const reqs = v.requests;
  const bad = v.all.filter((r) => r.error !== "");
  check(bad.length === 0, `${bad.length} requests did not decode: ${bad[0]?.error}`);
  check(reqs.length > 0, "no request carried this case's series");
  for (const r of reqs) check(r.version === 2, `request #${r.n} is RW ${r.version}, want 2.0`);
  return reqs;
}

/** No string appears twice in a request's symbols table. */
export function symbolsDeduplicated(v: JobView): void {
  for (const r of decodedV2(v)) {
    const syms = r.decoded!.symbols;
    const seen = new Map<string, number>();
    syms.forEach((s, i) => {
      check(
        !seen.has(s),
        `request #${r.n}: ${JSON.stringify(s)} at symbols ${seen.get(s)} and ${i}`,
      );
      seen.set(s, i);
    });
  }
}

export const symbolCases: JobCase[] = [
  {
    name: "symbols_test.go: empty_string_at_index_zero",
    level: "MUST",
    exposition: "test_metric 42\n",
    check: (v) => {
      for (const r of decodedV2(v)) {
        const syms = r.decoded!.symbols;
        check(
          syms.length > 0 && syms[0] === "",
          `request #${r.n}: symbols[0] is ${JSON.stringify(syms[0])}`,
        );
      }
    },
  },
  {
    name: "symbols_test.go: string_deduplication",
    level: "RECOMMENDED",
    exposition:
      '# Multiple metrics with same label keys/values\ntest_metric{foo="bar",baz="qux"} 1\ntest_metric{foo="bar",baz="qux"} 2\nanother_metric{foo="bar"} 3\n',
    check: symbolsDeduplicated,
  },
  {
    name: "symbols_test.go: labels_refs_valid_indices",
    level: "MUST",
    exposition: 'test_metric{label="value"} 42\n',
    check: (v) => {
      decodedV2(v);
      check(
        v.named("test_metric").some((s) => s.labels.label === "value"),
        "test_metric{label=value} missing",
      );
    },
  },
  {
    name: "symbols_test.go: labels_refs_even_length",
    level: "MUST",
    exposition: 'test_metric{label="value"} 42\n',
    check: (v) => {
      decodedV2(v);
      check(v.named("test_metric").length > 0, "test_metric missing");
    },
  },
  {
    name: "symbols_test.go: TestSymbolTableEfficiency",
    level: "RECOMMENDED",
    exposition: `# Multiple series with shared labels
http_requests_total{method="GET",status="200",handler="/api/v1"} 100
http_requests_total{method="POST",status="200",handler="/api/v1"} 50
http_requests_total{method="GET",status="404",handler="/api/v1"} 10
http_requests_total{method="GET",status="200",handler="/api/v2"} 75
`,
    check: (v) => {
      symbolsDeduplicated(v);
      // The four series need at most 13 distinct strings of their own; each is in the table once.
      check(v.named("http_requests_total").length >= 4, "want the four series");
    },
  },
];
