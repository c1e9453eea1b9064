/**
 * The environment ferry's process should start with: glibc malloc settings
 * that return freed memory to the system. Deno's own allocations (HTTP
 * bodies, compression state, I/O buffers) go through glibc's malloc; the
 * JavaScript heap does not.
 *
 * By default glibc raises its mmap threshold each time it frees a large
 * block (up to 32 MiB), so later large blocks come from the heap instead,
 * where a hole in the middle is never given back; and it gives each thread
 * its own arena. An agent whose load peaks now and then (a slow receiver,
 * a busy machine) then keeps the memory of its worst moment: in a 140-minute
 * soak the main arena rose 82 → 99 → 106 MiB in steps at load peaks and
 * held. With these settings blocks of 128 KiB and more are mapped and
 * unmapped on their own, free memory above 128 KiB at the heap's top is
 * trimmed, and there are at most two arenas. Measured on the bench's M
 * workload with two busy loops running 20 s of every minute
 * (`bench/README.md`): the main arena held 48 MiB by default and 16 MiB so,
 * RSS after the first major collection ~235 MiB and ~210 MiB, CPU within
 * the noise.
 *
 * The environment is read when the process starts, so it cannot be set from
 * inside: README's commands, `deno task agent`, `deno task start`, the
 * systemd unit's `ferry.env` and the container image set it; the bench runs
 * ferry with it.
 *
 * @module
 */

/** The variables and their values. */
export const MALLOC_ENV: Readonly<Record<string, string>> = Object.freeze({
  MALLOC_ARENA_MAX: "2",
  MALLOC_MMAP_THRESHOLD_: "131072",
  MALLOC_TRIM_THRESHOLD_: "131072",
});

/** {@link MALLOC_ENV} as a shell prefix (`NAME=value …`). */
export const MALLOC_ENV_PREFIX = Object.entries(MALLOC_ENV).map(([k, v]) => `${k}=${v}`).join(" ");
