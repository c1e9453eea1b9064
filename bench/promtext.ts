/**
 * Just enough of the Prometheus text format to read the agents' own `/metrics`: sums of a metric
 * over the series whose labels match.
 *
 * @module
 */

/** One sample line: name, raw label text (without braces), value. */
export interface Line {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Parses the sample lines of an exposition; comments and malformed lines are skipped. */
export function parseText(text: string): Line[] {
  const out: Line[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    let name: string, rest: string;
    const brace = line.indexOf("{");
    const space = line.indexOf(" ");
    const labels: Record<string, string> = {};
    if (brace >= 0 && (space < 0 || brace < space)) {
      const close = line.lastIndexOf("}");
      if (close < brace) continue;
      name = line.slice(0, brace);
      for (const m of line.slice(brace + 1, close).matchAll(LABEL)) labels[m[1]] = m[2];
      rest = line.slice(close + 1).trim();
    } else {
      if (space < 0) continue;
      name = line.slice(0, space);
      rest = line.slice(space + 1).trim();
    }
    const value = Number(rest.split(" ")[0]);
    if (Number.isNaN(value) && !/^nan$/i.test(rest.split(" ")[0])) continue;
    out.push({ name, labels, value });
  }
  return out;
}

/** Parsed self-metrics with lookups by name. */
export class Metrics {
  readonly #byName = new Map<string, Line[]>();

  constructor(text: string) {
    for (const l of parseText(text)) {
      const list = this.#byName.get(l.name);
      if (list) list.push(l);
      else this.#byName.set(l.name, [l]);
    }
  }

  /** Whether any series of `name` exists. */
  has(name: string): boolean {
    return this.#byName.has(name);
  }

  /** The sum of `name` over series whose labels include `match`; 0 if there are none. */
  sum(name: string, match: Record<string, string> = {}): number {
    let total = 0;
    for (const l of this.#byName.get(name) ?? []) {
      if (Object.entries(match).every(([k, v]) => l.labels[k] === v)) total += l.value;
    }
    return total;
  }
}
