import fc from "fast-check";
import { assertEquals } from "../../testing/assert.ts";
import { BodyDecoder, decodeBody } from "./decode.ts";

/**
 * The obvious decoder: a piece per valid run and per invalid byte (fine for
 * small inputs, quadratic in memory on a body full of invalid bytes). A
 * sequence is valid per the Unicode table of well-formed UTF-8.
 */
function reference(b: Uint8Array): string {
  const fatal = new TextDecoder("utf-8", { ignoreBOM: true, fatal: true });
  const inRange = (j: number, lo: number, hi: number) => j < b.length && b[j] >= lo && b[j] <= hi;
  const seqLen = (i: number): number => {
    const c = b[i];
    if (c < 0x80) return 1;
    if (c >= 0xc2 && c <= 0xdf) return inRange(i + 1, 0x80, 0xbf) ? 2 : 0;
    if (c >= 0xe0 && c <= 0xef) {
      const [lo, hi] = c === 0xe0 ? [0xa0, 0xbf] : c === 0xed ? [0x80, 0x9f] : [0x80, 0xbf];
      return inRange(i + 1, lo, hi) && inRange(i + 2, 0x80, 0xbf) ? 3 : 0;
    }
    if (c >= 0xf0 && c <= 0xf4) {
      const [lo, hi] = c === 0xf0 ? [0x90, 0xbf] : c === 0xf4 ? [0x80, 0x8f] : [0x80, 0xbf];
      return inRange(i + 1, lo, hi) && inRange(i + 2, 0x80, 0xbf) && inRange(i + 3, 0x80, 0xbf)
        ? 4
        : 0;
    }
    return 0;
  };
  let out = "";
  let run = 0;
  for (let i = 0; i < b.length;) {
    const n = seqLen(i);
    if (n > 0) {
      i += n;
      continue;
    }
    out += fatal.decode(b.subarray(run, i)) + String.fromCharCode(0xdc00 + b[i]);
    run = ++i;
  }
  return out + fatal.decode(b.subarray(run));
}

Deno.test("decodeBody: long valid runs, multi-byte characters and invalid bytes across block boundaries", () => {
  const piece = fc.oneof(
    // Long valid runs (through TextDecoder) with characters of every length.
    fc.string({ unit: "grapheme", minLength: 200, maxLength: 400 }).map((s) =>
      new TextEncoder().encode(s)
    ),
    fc.string({ unit: "binary", maxLength: 20 }).map((s) => new TextEncoder().encode(s)),
    fc.uint8Array({ minLength: 1, maxLength: 12 }),
    // Runs of invalid bytes long enough to fill several blocks of code units.
    fc.integer({ min: 1, max: 20_000 }).map((n) => new Uint8Array(n).fill(0xff)),
  );
  fc.assert(
    fc.property(fc.array(piece, { maxLength: 12 }), (parts) => {
      const b = new Uint8Array(parts.flatMap((p) => [...p]));
      assertEquals(decodeBody(b), reference(b));
    }),
    { numRuns: 300 },
  );
});

Deno.test("decodeBody: a large body of invalid bytes becomes one lone surrogate per byte", () => {
  const b = new Uint8Array(3 * 1024 * 1024).fill(0x80);
  b.set(new TextEncoder().encode("# é"), 0);
  const s = decodeBody(b);
  assertEquals(s.length, b.length - 1);
  assertEquals(s.slice(0, 4), "# é\udc80");
  assertEquals(s.at(-1), "\udc80");
});

Deno.test("BodyDecoder: bodies in chunks, one after another, each decode to their own text", () => {
  // The chunks of a body are joined in a buffer shared by every decoder: a body must never see
  // bytes of the one before (a longer one, whose tail would still be in that buffer).
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          text: fc.string({ unit: "grapheme", maxLength: 3000 }),
          cuts: fc.array(fc.nat(), { maxLength: 6 }),
        }),
        { minLength: 1, maxLength: 6 },
      ),
      (bodies) => {
        for (const { text, cuts } of bodies) {
          const bytes = new TextEncoder().encode(text);
          const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
          const d = new BodyDecoder();
          let from = 0;
          for (const c of [...at, bytes.length]) {
            d.push(bytes.slice(from, c));
            from = c;
          }
          assertEquals(d.end(), text);
        }
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("decodeBody: the quick path never changes the result (BOM, U+FFFD as text, invalid bytes)", () => {
  const enc = new TextEncoder();
  // A leading byte order mark is kept (it then fails parsing, as in Prometheus).
  assertEquals(decodeBody(Uint8Array.of(0xef, 0xbb, 0xbf, 0x61)), "\ufeffa");
  // A real U+FFFD in the text stays one.
  assertEquals(decodeBody(enc.encode("a \ufffd b")), "a \ufffd b");
  // An invalid byte becomes a lone surrogate, not U+FFFD.
  assertEquals(decodeBody(Uint8Array.of(0x61, 0xff, 0x62)), "a\udcffb");
  fc.assert(
    fc.property(
      fc.array(
        fc.oneof(
          fc.uint8Array({ maxLength: 8 }),
          fc.string({ unit: "binary", maxLength: 8 }).map((s) => enc.encode(s)),
          fc.constant(Uint8Array.of(0xef, 0xbb, 0xbf)),
          fc.constant(Uint8Array.of(0xef, 0xbf, 0xbd)),
        ),
        { maxLength: 20 },
      ),
      (parts) => {
        const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
        let at = 0;
        for (const p of parts) {
          bytes.set(p, at);
          at += p.length;
        }
        let want: string;
        try {
          want = new TextDecoder("utf-8", { ignoreBOM: true, fatal: true }).decode(bytes);
        } catch {
          // Invalid UTF-8 never passes as valid text: its bad bytes are lone surrogates.
          assertEquals(decodeBody(bytes).isWellFormed(), false);
          return;
        }
        assertEquals(decodeBody(bytes), want);
      },
    ),
    { numRuns: 2000 },
  );
});
