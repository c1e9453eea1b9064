/**
 * The discovery seam: each SD config runs one `Discoverer`, which reports the
 * full current set of target groups for its sources.
 *
 * @module
 */

/** A group of targets from one source, with labels common to all of them. */
export interface TargetGroup {
  /** Identifies the source (file path, URL, config index) so updates replace the right group. */
  source: string;
  /** One label set per target; each has `__address__`. */
  targets: Record<string, string>[];
  /** Labels added to every target of the group (a target's own labels win). */
  labels: Record<string, string>;
}

/** Produces target groups until `signal` aborts. */
export interface Discoverer {
  run(signal: AbortSignal, update: (groups: TargetGroup[]) => void): Promise<void>;
}
