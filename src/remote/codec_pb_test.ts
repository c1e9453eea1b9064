import fc from "fast-check";
import protobuf from "protobufjs";
import { assertEquals, assertThrows } from "../testing/assert.ts";
import { PbReader, PbWriter } from "./codec_pb.ts";
import { CodecError } from "./codec_types.ts";

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(" ");

type Op =
  | { k: "uint32"; v: number }
  | { k: "int64"; v: number }
  | { k: "sint32"; v: number }
  | { k: "sint64"; v: number }
  | { k: "double"; v: number }
  | { k: "string"; v: string }
  | { k: "nested"; v: Op[] };

const leaf: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ k: fc.constant("uint32" as const), v: fc.nat(2 ** 32 - 1) }),
  fc.record({ k: fc.constant("int64" as const), v: fc.maxSafeInteger() }),
  fc.record({
    k: fc.constant("sint32" as const),
    v: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
  }),
  fc.record({ k: fc.constant("sint64" as const), v: fc.maxSafeInteger() }),
  fc.record({ k: fc.constant("double" as const), v: fc.double({ noNaN: true }) }),
  fc.record({
    k: fc.constant("string" as const),
    v: fc.oneof(fc.string({ maxLength: 80 }), fc.string({ unit: "binary", maxLength: 200 })),
  }),
);
const ops = fc.letrec((tie) => ({
  op: fc.oneof(
    { depthSize: "small" },
    leaf,
    fc.record({ k: fc.constant("nested" as const), v: tie("list") as fc.Arbitrary<Op[]> }),
  ),
  list: fc.array(tie("op") as fc.Arbitrary<Op>, { maxLength: 12 }),
})).list;

function writeOurs(w: PbWriter, list: Op[]): void {
  for (const op of list) {
    if (op.k === "nested") {
      const start = w.fork();
      writeOurs(w, op.v);
      w.ldelim(start);
    } else if (op.k === "string") w.string(op.v);
    else w[op.k](op.v);
  }
}

function writeTheirs(w: protobuf.Writer, list: Op[]): void {
  for (const op of list) {
    if (op.k === "nested") {
      w.fork();
      writeTheirs(w, op.v);
      w.ldelim();
    } else if (op.k === "uint32") w.uint32(op.v);
    else if (op.k === "int64") w.int64(op.v);
    else if (op.k === "sint32") w.sint32(op.v);
    else if (op.k === "sint64") w.sint64(op.v);
    else if (op.k === "double") w.double(op.v);
    else w.string(op.v);
  }
}

function readBack(r: PbReader, list: Op[]): void {
  for (const op of list) {
    if (op.k === "nested") {
      const outer = r.enter();
      readBack(r, op.v);
      assertEquals(r.pos, r.end, "nested length");
      r.leave(outer);
    } else if (op.k === "uint32") assertEquals(r.uint32(), op.v);
    else if (op.k === "int64") assertEquals(r.int64(), op.v);
    else if (op.k === "sint32") assertEquals(r.sint32(), op.v);
    else if (op.k === "sint64") assertEquals(r.sint64(), op.v);
    else if (op.k === "double") assertEquals(r.double(), op.v);
    else assertEquals(r.string(), op.v);
  }
}

Deno.test("PbWriter: same bytes as protobufjs' Writer, and PbReader reads them back", () => {
  fc.assert(
    fc.property(ops, fc.boolean(), (list, small) => {
      // A tiny initial buffer exercises growth in the middle of values.
      const ours = new PbWriter(small ? 1 : 1 << 16);
      writeOurs(ours, list);
      const theirs = new protobuf.Writer();
      writeTheirs(theirs, list);
      const bytes = ours.finish(true);
      assertEquals(hex(bytes), hex(theirs.finish()));
      const r = new PbReader(bytes);
      readBack(r, list);
      assertEquals(r.pos, bytes.length);
    }),
    { numRuns: 500 },
  );
});

Deno.test("PbWriter: lone surrogates become U+FFFD, as with TextEncoder", () => {
  for (const s of ["\ud800", "a\udc00b", "\ud800\ud800", "x".repeat(70) + "\udfff"]) {
    const w = new PbWriter(4);
    w.string(s);
    const want = new TextEncoder().encode(s);
    assertEquals(hex(w.finish(true).subarray(1)), hex(want));
  }
});

Deno.test("PbWriter: finish views or copies, shrink drops a huge buffer", () => {
  const w = new PbWriter(8);
  w.uint32(300);
  const view = w.finish(false), copy = w.finish(true);
  w.reset();
  w.uint32(1);
  assertEquals([hex(view), hex(copy)], ["01 02", "ac 02"]);
  w.raw(new Uint8Array(5 << 20));
  w.shrink();
  assertEquals([w.pos, w.buf.length], [0, 1 << 16]);
});

Deno.test("PbReader: malformed input", async (t) => {
  const cases: [string, number[], (r: PbReader) => unknown, string][] = [
    ["truncated varint", [0x80], (r) => r.uint32(), "truncated varint"],
    ["11-byte varint", [...Array(10).fill(0xff), 1], (r) => r.int64(), "longer than 10 bytes"],
    ["11-byte uint32", [...Array(10).fill(0x80), 1], (r) => r.uint32(), "longer than 10 bytes"],
    ["truncated double", [1, 2, 3], (r) => r.double(), "truncated double"],
    ["length past the end", [5, 1], (r) => r.string(), "past the end"],
    ["field number 0", [0x02], (r) => r.key(), "field number 0"],
    ["group wire type", [3], (r) => r.skip(3), "unsupported wire type 3"],
  ];
  for (const [name, bytes, fn, msg] of cases) {
    await t.step(
      name,
      () => void assertThrows(() => fn(new PbReader(new Uint8Array(bytes))), CodecError, msg),
    );
  }
  await t.step("a 10-byte uint32 keeps the low 32 bits", () => {
    // -1 as int32 written as a 64-bit varint.
    const r = new PbReader(new Uint8Array([...Array(9).fill(0xff), 1]));
    assertEquals(r.uint32(), 0xffffffff);
  });
  await t.step("a U+FEFF at the start of a string is kept", () => {
    const r = new PbReader(new Uint8Array([5, 0xef, 0xbb, 0xbf, 0x61, 0x62]));
    assertEquals(r.string(), "\ufeffab");
  });
});

Deno.test("PbWriter.openSized/closeSized give open/ldelim's bytes whatever length room was guessed (property)", () => {
  fc.assert(
    fc.property(fc.nat(40_000), fc.integer({ min: 1, max: 5 }), (len, n) => {
      const content = new Uint8Array(len).map((_, i) => i * 7);
      const a = new PbWriter(8), b = new PbWriter(8);
      a.uint32(1);
      b.uint32(1);
      const s1 = a.open(10);
      a.raw(content);
      a.ldelim(s1);
      const s2 = b.openSized(10, n);
      b.raw(content);
      b.closeSized(s2, n);
      assertEquals(hex(b.finish(false)), hex(a.finish(false)));
    }),
    { numRuns: 300 },
  );
});
