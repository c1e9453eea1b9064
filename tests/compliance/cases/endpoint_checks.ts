/**
 * Checks shared by the endpoint cases (responses, retries, backoff, errors,
 * fallback).
 *
 * @module
 */

import { type Captured, check, type EndpointView } from "../harness.ts";

/** The sorted sample keys of a request (its identity as a batch). */
export function batchKey(v: EndpointView, r: Captured): string {
  return v.sampleKeys(r).sort().join("|");
}

/** No sample was sent twice and no request is marked as a retry. */
export function notRetried(v: EndpointView): void {
  check(v.requests.length >= 1, "no request arrived");
  const again = v.resent();
  check(again.length === 0, `${again.length} samples were sent again, e.g. ${again[0]}`);
  const marked = v.requests.filter((r) => r.headers.has("retry-attempt"));
  check(marked.length === 0, `${marked.length} requests carry Retry-Attempt`);
}

/** Samples were sent again, and the repeats say which attempt they are. */
export function retried(v: EndpointView): void {
  check(v.resent().length > 0, `no sample was sent again (${v.requests.length} requests)`);
  check(
    v.requests.some((r) => Number(r.headers.get("retry-attempt") ?? 0) >= 1),
    "no request carries Retry-Attempt ≥ 1",
  );
}

/** Intervals (ms) between the attempts of the first batch. */
export function retryIntervals(v: EndpointView): number[] {
  const first = v.requests[0];
  if (!first) return [];
  const key = batchKey(v, first);
  const same = v.requests.filter((r) => batchKey(v, r) === key);
  return same.slice(1).map((r, i) => r.at - same[i].at);
}

/** At least `n` attempts of the first batch arrived. */
export function attemptsOfFirst(n: number): (v: EndpointView) => boolean {
  return (v) => retryIntervals(v).length + 1 >= n;
}

/** At least `n` requests arrived. */
export function requests(n: number): (v: EndpointView) => boolean {
  return (v) => v.requests.length >= n;
}

/** The endpoint counted failed samples (and, with `none`, nothing failed). */
export function failedCount(v: EndpointView): number {
  return v.metric("prometheus_remote_storage_samples_failed_total");
}

/** ferry shut down cleanly after the run. */
export function exitedCleanly(v: EndpointView): void {
  check(v.exit !== null && v.exit.code === 0, `ferry's exit status ${JSON.stringify(v.exit)}`);
}

/** Formats intervals for messages. */
export function ms(xs: number[]): string {
  return xs.map((x) => x.toFixed(0)).join(", ") + " ms";
}
