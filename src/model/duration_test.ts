import { assertEquals, assertThrows } from "../testing/assert.ts";
import { formatDuration, parseDuration } from "./duration.ts";

Deno.test("parseDuration accepts Prometheus durations", () => {
  const cases: [string, number][] = [
    ["0", 0],
    ["0s", 0],
    ["15s", 15_000],
    ["1m30s", 90_000],
    ["500ms", 500],
    ["1h2m3s4ms", 3_723_004],
    ["2d", 172_800_000],
    ["1w", 604_800_000],
    ["1y", 31_536_000_000],
  ];
  for (const [s, ms] of cases) assertEquals(parseDuration(s), ms, s);
});

Deno.test("parseDuration rejects what Prometheus rejects", () => {
  for (const s of ["", "1", "-1s", "1.5s", "1s1m", "1m1m", "15 s", "s", "1S", "1sec"]) {
    assertThrows(() => parseDuration(s), RangeError, "not a valid duration");
  }
});

Deno.test("formatDuration renders as Prometheus' Duration.String", () => {
  const cases: [number, string][] = [
    [0, "0s"],
    [15_000, "15s"],
    [90_000, "1m30s"],
    [500, "500ms"],
    [7_776_000_000, "90d"],
    [604_800_000, "1w"],
    [31_536_000_000, "1y"],
    [31_536_000_000 + 86_400_000, "366d"],
  ];
  for (const [ms, s] of cases) assertEquals(formatDuration(ms), s, String(ms));
});
