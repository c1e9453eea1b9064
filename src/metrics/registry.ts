/**
 * A small metrics registry for the agent's own metrics, exposed in the
 * Prometheus text format at `/metrics`.
 *
 * Each component creates its metrics with labels bound at construction and
 * disposes them when it stops. Gauges may read live state through a callback.
 *
 * @module
 */

import { quote } from "../model/labels.ts";
import { formatValue } from "../model/sample.ts";

export type MetricType = "counter" | "gauge" | "histogram" | "summary";

interface Family {
  name: string;
  help: string;
  type: MetricType;
  children: Map<string, Child>;
}

interface Child {
  labelText: string; // `{a="b"}` or ""
  render(name: string, labelText: string): string;
}

/** A monotonically increasing value. */
export class Counter implements Child {
  #v = 0;
  constructor(readonly labelText: string, private readonly fn?: () => number) {}
  /** Adds `n` (must be ≥ 0). */
  inc(n = 1): void {
    this.#v += n;
  }
  get value(): number {
    return this.fn ? this.fn() : this.#v;
  }
  render(name: string, lt: string): string {
    return `${name}${lt} ${formatValue(this.value)}\n`;
  }
}

/** A value that goes up and down, or is read from a callback. */
export class Gauge implements Child {
  #v = 0;
  constructor(readonly labelText: string, private readonly fn?: () => number) {}
  set(v: number): void {
    this.#v = v;
  }
  inc(n = 1): void {
    this.#v += n;
  }
  dec(n = 1): void {
    this.#v -= n;
  }
  get value(): number {
    return this.fn ? this.fn() : this.#v;
  }
  render(name: string, lt: string): string {
    return `${name}${lt} ${formatValue(this.value)}\n`;
  }
}

/** A cumulative histogram with fixed buckets (upper bounds in ascending order). */
export class Histogram implements Child {
  readonly #bounds: number[];
  readonly #counts: Float64Array;
  #sum = 0;
  #count = 0;
  constructor(readonly labelText: string, bounds: number[]) {
    this.#bounds = bounds;
    this.#counts = new Float64Array(bounds.length);
  }
  observe(v: number): void {
    for (let i = 0; i < this.#bounds.length; i++) {
      if (v <= this.#bounds[i]) this.#counts[i]++;
    }
    this.#sum += v;
    this.#count++;
  }
  get count(): number {
    return this.#count;
  }
  get sum(): number {
    return this.#sum;
  }
  render(name: string, lt: string): string {
    const inner = lt === "" ? "" : lt.slice(1, -1) + ",";
    let s = "";
    for (let i = 0; i < this.#bounds.length; i++) {
      s += `${name}_bucket{${inner}le="${formatValue(this.#bounds[i])}"} ${this.#counts[i]}\n`;
    }
    s += `${name}_bucket{${inner}le="+Inf"} ${this.#count}\n`;
    s += `${name}_sum${lt} ${formatValue(this.#sum)}\n`;
    s += `${name}_count${lt} ${this.#count}\n`;
    return s;
  }
}

/** A summary without quantiles: only `_sum` and `_count`. */
export class Summary implements Child {
  #sum = 0;
  #count = 0;
  constructor(readonly labelText: string) {}
  observe(v: number): void {
    this.#sum += v;
    this.#count++;
  }
  get count(): number {
    return this.#count;
  }
  get sum(): number {
    return this.#sum;
  }
  render(name: string, lt: string): string {
    return `${name}_sum${lt} ${formatValue(this.#sum)}\n${name}_count${lt} ${this.#count}\n`;
  }
}

/** Default histogram buckets for durations in seconds. */
export const DEFAULT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface MetricOptions {
  name: string;
  help: string;
  labels?: Record<string, string>;
}

/** Holds metric families and renders them. */
export class Registry {
  readonly #families = new Map<string, Family>();

  /**
   * Returns the counter child for these labels, creating it on first use; with `fn`, the value is
   * read from it at exposition time (a total kept elsewhere).
   */
  counter(opts: MetricOptions & { fn?: () => number }): Counter {
    return this.#child(opts, "counter", (lt) => new Counter(lt, opts.fn)) as Counter;
  }

  /** Returns the gauge child; with `fn`, the value is read from it at exposition time. */
  gauge(opts: MetricOptions & { fn?: () => number }): Gauge {
    return this.#child(opts, "gauge", (lt) => new Gauge(lt, opts.fn)) as Gauge;
  }

  /** Returns the histogram child for these labels. */
  histogram(opts: MetricOptions & { buckets?: number[] }): Histogram {
    return this.#child(
      opts,
      "histogram",
      (lt) => new Histogram(lt, opts.buckets ?? DEFAULT_BUCKETS),
    ) as Histogram;
  }

  /** Returns the summary child (sum and count, no quantiles) for these labels. */
  summary(opts: MetricOptions): Summary {
    return this.#child(opts, "summary", (lt) => new Summary(lt)) as Summary;
  }

  /** Removes the child with these labels (a component stopped). */
  remove(name: string, labels?: Record<string, string>): void {
    const f = this.#families.get(name);
    if (!f) return;
    f.children.delete(labelText(labels));
  }

  #child(opts: MetricOptions, type: MetricType, make: (lt: string) => Child): Child {
    let f = this.#families.get(opts.name);
    if (!f) {
      f = { name: opts.name, help: opts.help, type, children: new Map() };
      this.#families.set(opts.name, f);
    } else if (f.type !== type) {
      throw new TypeError(`metric ${opts.name} registered as ${f.type}, not ${type}`);
    }
    const lt = labelText(opts.labels);
    let c = f.children.get(lt);
    if (!c) {
      c = make(lt);
      f.children.set(lt, c);
    }
    return c;
  }

  /** The Prometheus text exposition (format 0.0.4) of every family with children. */
  expose(): string {
    let out = "";
    const names = [...this.#families.keys()].sort();
    for (const n of names) {
      const f = this.#families.get(n)!;
      if (f.children.size === 0) continue;
      out += `# HELP ${f.name} ${f.help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}\n`;
      out += `# TYPE ${f.name} ${f.type}\n`;
      for (const c of f.children.values()) out += c.render(f.name, c.labelText);
    }
    return out;
  }
}

function labelText(labels?: Record<string, string>): string {
  if (!labels) return "";
  const keys = Object.keys(labels).sort();
  if (keys.length === 0) return "";
  return "{" + keys.map((k) => `${k}=${quote(labels[k])}`).join(",") + "}";
}
