import { Labels } from "../model/labels.ts";
import type { MetricMetadata } from "../model/metadata.ts";
import { assertEquals } from "../testing/assert.ts";
import { labelIdsOf, RequestSymbols } from "./codec_symbols.ts";

/** The strings of `labels` through a request symbol table. */
function resolve(sym: RequestSymbols, labels: Labels): string[] {
  return labelIdsOf(labels).slice(1).map((id) => sym.list[sym.ref(id)]);
}

Deno.test("RequestSymbols: refs per request, symbols[0] is the empty string", () => {
  const sym = new RequestSymbols();
  const a = Labels.fromObject({ __name__: "up", job: "x" });
  sym.begin();
  assertEquals(resolve(sym, a), ["__name__", "up", "job", "x"]);
  assertEquals(sym.list, ["", "__name__", "up", "job", "x"]);
  // A second request starts from scratch; shared strings get new refs in order of use.
  sym.begin();
  const b = Labels.fromObject({ job: "x", zone: "up" });
  assertEquals(resolve(sym, b), ["job", "x", "zone", "up"]);
  assertEquals(sym.list, ["", "job", "x", "zone", "up"]);
});

Deno.test("RequestSymbols: strings first seen un-interned and later interned appear once", () => {
  const sym = new RequestSymbols();
  sym.begin();
  const fresh = `trace-${crypto.randomUUID()}`;
  const r = sym.refString(fresh);
  const l = Labels.fromObject({ __name__: "m", [fresh]: fresh });
  const ids = labelIdsOf(l);
  assertEquals(sym.ref(ids[3]), r);
  assertEquals(sym.ref(ids[4]), r);
  assertEquals(sym.list.filter((s) => s === fresh).length, 1);
  assertEquals(sym.refString(""), 0);
});

Deno.test("RequestSymbols: the interner is reset past its limit and cached ids follow", () => {
  const sym = new RequestSymbols({ maxInterned: 8 });
  const keep = Labels.fromObject({ __name__: "keep", a: "b" });
  for (let round = 0; round < 5; round++) {
    sym.begin();
    assertEquals(resolve(sym, keep), ["__name__", "keep", "a", "b"]);
    // Ten new strings per request push the interner past its limit.
    for (let i = 0; i < 5; i++) {
      const l = Labels.fromObject({ [`n${round}_${i}`]: `v${round}_${i}` });
      assertEquals(resolve(sym, l), [`n${round}_${i}`, `v${round}_${i}`]);
    }
    assertEquals(new Set(sym.list).size, sym.list.length, "no duplicates");
  }
});

Deno.test("RequestSymbols: metadata refs follow in-place changes", () => {
  const sym = new RequestSymbols();
  const m: MetricMetadata = { type: "counter", help: "Old help.", unit: "seconds" };
  const out = { type: 0, help: 0, unit: 0 };
  sym.begin();
  sym.metadataRefs(m, out);
  assertEquals([out.type, sym.list[out.help], sym.list[out.unit]], [1, "Old help.", "seconds"]);
  m.help = "New help.";
  m.type = "gauge";
  sym.metadataRefs(m, out);
  assertEquals([out.type, sym.list[out.help], sym.list[out.unit]], [2, "New help.", "seconds"]);
  m.unit = "";
  sym.metadataRefs(m, out);
  assertEquals(out.unit, 0);
});
