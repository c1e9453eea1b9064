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

/** What one discovery pass found. */
export interface DiscoveryResult {
  /** The groups of every source (a source that failed contributes its last good groups, if any). */
  groups: TargetGroup[];
  /** One message per source that failed in this pass; empty when all were read. */
  errors: string[];
}

/** Produces target groups until `signal` aborts. */
export interface Discoverer {
  /**
   * Reports the full current set of groups through `update` whenever it
   * changes (the first call has every source), until `signal` aborts. A source
   * that fails keeps its last good groups; one that vanished is left out.
   */
  run(signal: AbortSignal, update: (groups: TargetGroup[]) => void): Promise<void>;
  /** One discovery pass, for `check targets`: what every source gives now, and what failed. */
  discoverOnce(signal: AbortSignal): Promise<DiscoveryResult>;
}
