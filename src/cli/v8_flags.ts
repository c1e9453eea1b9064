/**
 * The V8 flags ferry runs with: on `deno run` (README, `deno task agent`,
 * `deno task start`) and baked into compiled binaries (`tools/compile.ts`).
 *
 * `--max-semi-space-size=8` (MiB). On a machine with memory to spare V8
 * sizes its young generation by the machine (here ~45 MiB of new objects
 * between young collections), larger than the headroom its heuristics leave
 * the old generation above the live heap (~40 MiB at 86 MiB live). With less
 * headroom than a young generation, V8 starts marking the whole heap at once
 * after each full collection, so an agent with a steady live heap ran a full
 * mark-compact every few seconds (`--trace-gc` on the bench's M workload: 15
 * in a minute). With 8 MiB, young collections come more often (each under a
 * millisecond) and full ones stop after start-up (M: 3 in 90 s, all in the
 * first 5 s); RSS on M 310–314 → 246–254 MiB, on L 1,029 → 905 MiB.
 *
 * @module
 */

/** The flags, as V8 takes them. */
export const V8_FLAGS: readonly string[] = ["--max-semi-space-size=8"];

/** The `deno run` / `deno compile` argument that sets {@link V8_FLAGS}. */
export const V8_FLAGS_ARG = `--v8-flags=${V8_FLAGS.join(",")}`;
