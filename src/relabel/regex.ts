/**
 * RE2-compatible regular expressions for relabeling.
 * (Stub: replaced by the relabel implementation.)
 *
 * @module
 */

/**
 * Compiles an RE2 pattern anchored as Prometheus does (`^(?s:…)$`).
 * Throws a SyntaxError whose message names the pattern when Go would reject it.
 */
export function compileRegex(source: string): RegExp {
  try {
    return new RegExp(`^(?:${source})$`, "su");
  } catch (e) {
    throw new SyntaxError(`invalid regex "${source}": ${(e as Error).message}`);
  }
}
