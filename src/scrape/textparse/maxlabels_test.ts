/**
 * The parsers' `maxLabels`: a series with more non-empty labels fails in
 * `labels()` with TooManyLabelsError (built from what was counted, not from
 * stored labels), one at the limit is built as usual, and one whose excess is
 * empty values is still built exactly. Same for the three formats.
 */

import { assert, assertEquals, assertThrows } from "../../testing/assert.ts";
import { createParser, type Parser, type ScrapeProtocol, TooManyLabelsError } from "./mod.ts";
import { encodeFamilies, PB_TYPE } from "./protobuf_testutil.ts";

const enc = new TextEncoder();

/** A body of `series` (name and label pairs, one sample each, value 1) in `format`. */
function body(format: ScrapeProtocol, series: [string, [string, string][]][]): Uint8Array {
  if (format === "PrometheusProto") {
    return encodeFamilies(
      series.map(([name, labels]) => ({
        name,
        type: PB_TYPE.gauge,
        metrics: [{ labels, gauge: { value: 1 } }],
      })),
    );
  }
  const lines = series.map(([name, labels]) =>
    `${name}{${labels.map(([n, v]) => `${n}="${v}"`).join(",")}} 1\n`
  );
  return enc.encode(lines.join("") + (format.startsWith("OpenMetrics") ? "# EOF\n" : ""));
}

const labelsOf = (n: number, value = (i: number) => `v${i}`) =>
  Array.from({ length: n }, (_, i) => [`l${i}`, value(i)] as [string, string]);

function firstSeries(p: Parser): void {
  for (let k = p.next(); k !== null; k = p.next()) if (k === "series") return;
  throw new Error("no series");
}

const FORMATS: ScrapeProtocol[] = [
  "PrometheusText0.0.4",
  "OpenMetricsText1.0.0",
  "PrometheusProto",
];

for (const format of FORMATS) {
  Deno.test(`maxLabels (${format}): more non-empty labels throw TooManyLabelsError with the count`, () => {
    const p = createParser(format, body(format, [["m", labelsOf(1000)]]), { maxLabels: 10 });
    firstSeries(p);
    const e = assertThrows(() => p.labels(), TooManyLabelsError) as TooManyLabelsError;
    assertEquals([e.metric, e.count, e.max], ["m", 1000, 10]);
  });

  Deno.test(`maxLabels (${format}): a series at the limit is built as usual`, () => {
    const p = createParser(format, body(format, [["m", labelsOf(10)]]), { maxLabels: 10 });
    firstSeries(p);
    assertEquals(p.labels().size, 11);
  });

  Deno.test(`maxLabels (${format}): empty values do not count, and such a series is built whole`, () => {
    // 1000 labels, all but three empty: past the kept positions, yet within the limit.
    const labels = labelsOf(1000, (i) => i % 400 === 7 ? `x${i}` : "");
    const p = createParser(format, body(format, [["m", labels], ["next", [["a", "b"]]]]), {
      maxLabels: 3,
    });
    firstSeries(p);
    assertEquals(
      p.labels().toString(),
      '{__name__="m", l407="x407", l7="x7", l807="x807"}',
    );
    // The parser goes on with the next series as usual.
    firstSeries(p);
    assertEquals(p.labels().toString(), '{__name__="next", a="b"}');
  });

  Deno.test(`maxLabels (${format}): series differing only past the kept labels have different keys`, () => {
    const a = labelsOf(100);
    const b = labelsOf(100);
    b[99] = ["l99", "other"];
    const p = createParser(format, body(format, [["m", a], ["m", b]]), { maxLabels: 5 });
    firstSeries(p);
    const k1 = p.series();
    firstSeries(p);
    assert(p.series() !== k1);
  });
}

Deno.test("maxLabels: without it, thousands of labels are built (the limit is opt-in)", () => {
  const p = createParser(
    "PrometheusText0.0.4",
    body("PrometheusText0.0.4", [["m", labelsOf(5000)]]),
  );
  firstSeries(p);
  assertEquals(p.labels().size, 5001);
});

for (const format of ["PrometheusText1.0.0", "OpenMetricsText1.0.0"] as const) {
  Deno.test(`maxLabels (${format}): a quoted metric name is not a label, also when read again`, () => {
    const labels = labelsOf(50, (i) => i === 3 ? "x" : "").map(([n, v]) => `${n}="${v}"`);
    const text = `{"my.metric",${labels.join(",")}} 1\n` +
      (format.startsWith("OpenMetrics") ? "# EOF\n" : "");
    const p = createParser(format, enc.encode(text), { maxLabels: 1 });
    firstSeries(p);
    assertEquals(p.labels().toString(), '{__name__="my.metric", l3="x"}');
  });
}

Deno.test("maxLabels (OpenMetrics): a start time is matched on every label of a line kept in part", () => {
  // Many empty labels, so the lines are kept in part; they differ only in the last label.
  const empties = labelsOf(20, () => "").map(([n, v]) => `${n}="${v}"`).join(",");
  const text = "# TYPE c counter\n" +
    `c_total{${empties},k="a"} 1\nc_created{${empties},k="a"} 100\n` +
    `c_total{${empties},k="b"} 2\nc_created{${empties},k="b"} 200\n# EOF\n`;
  const p = createParser("OpenMetricsText1.0.0", enc.encode(text), { maxLabels: 2 });
  const got: (number | null)[] = [];
  for (let k = p.next(); k !== null; k = p.next()) {
    // As on a scrape-cache hit: no labels() call before the start time.
    if (k === "series" && !p.series().startsWith("c_created")) got.push(p.startTimestamp!());
  }
  assertEquals(got, [100_000, 200_000]);
});

Deno.test("OpenMetrics: an exemplar with 100,000 labels is dropped, its labels not kept", () => {
  const many = labelsOf(100_000).map(([n, v]) => `${n}="${v}"`).join(",");
  const text =
    `# TYPE c counter\nc_total 1 # {${many}} 1 1\nc_total{a="b"} 2 # {t="1"} 1 1\n# EOF\n`;
  const p = createParser("OpenMetricsText1.0.0", enc.encode(text));
  firstSeries(p);
  assertEquals(p.exemplar!(), null);
  firstSeries(p);
  assertEquals(p.exemplar!()?.labels.toString(), '{t="1"}');
});

Deno.test("OpenMetrics: an exemplar's empty labels do not count against its length", () => {
  const empties = labelsOf(500, () => "").map(([n, v]) => `${n}="${v}"`).join(",");
  const text = `# TYPE c counter\nc_total 1 # {${empties},t="1"} 1 1\n# EOF\n`;
  const p = createParser("OpenMetricsText1.0.0", enc.encode(text));
  firstSeries(p);
  assertEquals(p.exemplar!()?.labels.toString(), '{t="1"}');
});
