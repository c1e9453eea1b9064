/**
 * Structured logging through @logtape/logtape: logfmt (default) or JSON lines
 * on stderr. Every component logs under `["ferry", component]` and passes
 * context such as `job`, `target` and `endpoint` as properties.
 *
 * @module
 */

import {
  configureSync,
  getJsonLinesFormatter,
  getLogfmtFormatter,
  getLogger,
  type Logger,
  type LogLevel,
  type LogRecord,
  resetSync,
} from "@logtape/logtape";

export type { Logger };

/** Log output format, as Prometheus' `--log.format`. */
export type LogFormat = "logfmt" | "json";

/** Prometheus' level names mapped onto logtape's. */
const LEVELS: Record<string, LogLevel> = {
  debug: "debug",
  info: "info",
  warn: "warning",
  error: "error",
};

/** Accepted `--log.level` values. */
export const LOG_LEVELS = Object.keys(LEVELS);

/**
 * Configures logging for the process. `write` defaults to synchronous writes
 * to stderr so nothing is lost on exit.
 */
export function setupLogging(
  opts: { level?: string; format?: LogFormat; write?: (line: string) => void } = {},
): void {
  const level = LEVELS[opts.level ?? "info"];
  if (!level) {
    throw new RangeError(
      `unknown log level "${opts.level}" (want one of ${LOG_LEVELS.join(", ")})`,
    );
  }
  const formatter = opts.format === "json" ? getJsonLinesFormatter() : getLogfmtFormatter();
  const enc = new TextEncoder();
  const write = opts.write ?? ((line: string) => writeAll(enc.encode(line)));
  resetSync();
  configureSync({
    reset: true,
    sinks: { out: (r: LogRecord) => write(String(formatter(withComponent(r)))) },
    loggers: [
      { category: ["ferry"], lowestLevel: level, sinks: ["out"] },
      { category: ["logtape", "meta"], lowestLevel: "error", sinks: ["out"] },
    ],
  });
}

/** Every line names its component (`scrape`, `remote`, …) as a `component` key. */
function withComponent(r: LogRecord): LogRecord {
  if (r.category[0] !== "ferry" || r.category.length < 2 || "component" in r.properties) return r;
  return { ...r, properties: { component: r.category.slice(1).join("."), ...r.properties } };
}

function writeAll(buf: Uint8Array): void {
  let off = 0;
  while (off < buf.length) off += Deno.stderr.writeSync(buf.subarray(off));
}

/** The logger of a component (`scrape`, `wal`, `remote`, …). */
export function log(component: string): Logger {
  return getLogger(["ferry", component]);
}
