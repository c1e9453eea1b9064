/**
 * The one error class of the configuration pipeline, and the path helpers
 * that name where in a config a problem is.
 *
 * @module
 */

/** One problem found in a config. */
export interface ConfigIssue {
  /**
   * Where the problem is, as a path into the config: `scrapeConfigs[1].scrapeTimeout`
   * for TypeScript configs, `scrape_configs[1].scrape_timeout` for prometheus.yml.
   * Empty for problems with the whole file (a syntax error, a denied permission).
   */
  path: string;
  /** What is wrong, e.g. `20s is longer than scrapeInterval 15s`. */
  message: string;
  /** The file, when the problem was located in one. */
  file?: string;
  /** 1-based line in `file`. */
  line?: number;
  /** 1-based column in `file`. */
  column?: number;
}

/** Most issues a {@link ConfigError}'s message lists (`issues` has them all). */
export const MAX_LISTED_ISSUES = 100;

/**
 * A config could not be loaded or is invalid. Carries every problem found,
 * not just the first; the message lists them all, up to
 * {@link MAX_LISTED_ISSUES} (a broken or hostile file can have thousands, and
 * the message goes into a log line and the reload API's answer).
 *
 * Issues located in a file read `prometheus.yml:7:5: <message>` (the message
 * then names the field itself); others read `<path>: <message>`.
 */
export class ConfigError extends Error {
  override name = "ConfigError";
  /** Every problem found, in document order. */
  readonly issues: ConfigIssue[];
  /** The config file or source name, when known. */
  readonly source?: string;

  constructor(issues: ConfigIssue[], options: { source?: string; cause?: unknown } = {}) {
    super(
      formatMessage(issues, options.source),
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.issues = issues;
    if (options.source !== undefined) this.source = options.source;
  }
}

/** One issue as one line of text. */
export function formatIssue(issue: ConfigIssue): string {
  if (issue.line !== undefined) {
    return `${issue.file ?? "<config>"}:${issue.line}:${issue.column ?? 1}: ${issue.message}`;
  }
  return issue.path === "" ? issue.message : `${issue.path}: ${issue.message}`;
}

function formatMessage(issues: ConfigIssue[], source: string | undefined): string {
  const head = source === undefined ? "invalid config" : `config ${source}`;
  if (issues.length === 0) return head;
  if (issues.length === 1) return `${head}: ${formatIssue(issues[0])}`;
  const listed = issues.slice(0, MAX_LISTED_ISSUES).map((i) => `  - ${formatIssue(i)}`);
  if (issues.length > MAX_LISTED_ISSUES) {
    listed.push(`  - … and ${issues.length - MAX_LISTED_ISSUES} more`);
  }
  return `${head}: ${issues.length} problems:\n` + listed.join("\n");
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `base.name`, or `name` at the root. For field names (already styled). */
export function fieldPath(base: string, name: string): string {
  return base === "" ? name : `${base}.${name}`;
}

/** `base[3]`. */
export function indexPath(base: string, i: number): string {
  return `${base}[${i}]`;
}

/** `base.key` for identifier-like map keys, `base["odd key"]` otherwise. */
export function keyPath(base: string, key: string): string {
  return IDENT.test(key) ? fieldPath(base, key) : `${base}[${JSON.stringify(key)}]`;
}

const SNAKE_EXCEPTIONS: Record<string, string> = { retryOnHttp429: "retry_on_http_429" };

/** The prometheus.yml spelling of a model field name: `scrapeInterval` → `scrape_interval`. */
export function toSnake(name: string): string {
  return SNAKE_EXCEPTIONS[name] ?? name.replace(/[A-Z]/g, (c) => "_" + c.toLowerCase());
}

/** Describes a value's type for messages: `a string "x"`, `the number 5`, `an array`. */
export function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  switch (typeof v) {
    case "string":
      return `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + "…" : v)}`;
    case "number":
    case "bigint":
      return `the number ${String(v)}`;
    case "boolean":
      return `the boolean ${v}`;
    case "function":
      return "a function";
    case "undefined":
      return "undefined";
    case "symbol":
      return "a symbol";
    default: {
      const proto = Object.getPrototypeOf(v);
      if (proto !== null && proto !== Object.prototype) {
        const name = (proto as { constructor?: { name?: string } }).constructor?.name;
        return name ? `a ${name}` : "a non-plain object";
      }
      return "an object";
    }
  }
}

/** The candidate within edit distance 2 of `word`, for "did you mean" hints. */
export function suggest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = 3;
  const w = word.toLowerCase();
  for (const c of candidates) {
    const d = editDistance(w, c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(
        prev[j] + 1,
        cur[j - 1] + 1,
        prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    prev = cur;
  }
  return prev[b.length];
}
