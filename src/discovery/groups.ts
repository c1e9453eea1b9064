/**
 * Prometheus' target-group list format, shared by file_sd and http_sd:
 *
 * ```json
 * [{ "targets": ["10.0.0.1:9100"], "labels": { "env": "prod" } }]
 * ```
 *
 * JSON is decoded as Go's encoding/json does for Prometheus (unknown keys
 * ignored); YAML as its strict go-yaml v2 decoding (unknown keys are errors,
 * scalars keep their source text: `port: 010` is the label value "010").
 * Errors name the group and, where known, the line.
 *
 * @module
 */

import { isSeq, LineCounter, parseDocument } from "yaml";
import { withoutProcessEnv } from "../config/prometheus.ts";

/** One decoded group, before it gets a source. */
export interface RawGroup {
  targets: string[];
  labels: Record<string, string>;
}

/** A target-group list could not be decoded; the message says where. */
export class TargetGroupError extends Error {
  override name = "TargetGroupError";
}

/** Options of the decoders. */
export interface DecodeOptions {
  /** Every group must have a `targets` list (http_sd). @default false */
  requireTargets?: boolean;
}

/** Decodes a JSON target-group list. */
export function decodeJsonGroups(text: string, opts: DecodeOptions = {}): RawGroup[] {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new TargetGroupError(`invalid JSON: ${(e as Error).message}`);
  }
  return checkGroups(v, opts, () => "", false);
}

/** Most YAML alias expansions accepted (a "billion laughs" file is an error). */
const MAX_ALIASES = 1000;

/** Decodes a YAML target-group list. An empty document is an empty list. */
export function decodeYamlGroups(text: string, opts: DecodeOptions = {}): RawGroup[] {
  const lc = new LineCounter();
  const doc = withoutProcessEnv(() =>
    parseDocument(text, {
      lineCounter: lc,
      schema: "failsafe",
      uniqueKeys: true,
      prettyErrors: false,
    })
  );
  if (doc.errors.length > 0) {
    const err = doc.errors[0];
    const { line, col } = err.linePos?.[0] ?? lc.linePos(err.pos[0]);
    throw new TargetGroupError(
      `invalid YAML at line ${line}, column ${col}: ${err.message.split("\n")[0]}`,
    );
  }
  let v: unknown;
  try {
    v = doc.toJS({ maxAliasCount: MAX_ALIASES });
  } catch (e) {
    throw new TargetGroupError(`invalid YAML: ${(e as Error).message}`);
  }
  const seq = doc.contents;
  const where = (i: number) => {
    if (!isSeq(seq)) return "";
    const node = seq.items[i] as { range?: [number, number, number] } | undefined;
    return node?.range ? ` (line ${lc.linePos(node.range[0]).line})` : "";
  };
  // failsafe: an empty document or value is "" or null; both mean "nothing".
  if (v === null || v === "" || v === undefined) return [];
  return checkGroups(v, opts, where, true);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function checkGroups(
  v: unknown,
  opts: DecodeOptions,
  where: (i: number) => string,
  strictKeys: boolean,
): RawGroup[] {
  if (!Array.isArray(v)) {
    throw new TargetGroupError(`expected a list of target groups, got ${kind(v)}`);
  }
  return v.map((g, i) => {
    const at = `group ${i}${where(i)}`;
    if (!isObject(g)) throw new TargetGroupError(`${at}: expected an object, got ${kind(g)}`);
    if (strictKeys) {
      for (const k of Object.keys(g)) {
        if (k !== "targets" && k !== "labels") {
          throw new TargetGroupError(`${at}: unknown field ${JSON.stringify(k)}`);
        }
      }
    }
    const t = Object.hasOwn(g, "targets") ? g.targets : undefined;
    let targets: string[] = [];
    if (t === undefined || t === null || t === "") {
      if (opts.requireTargets) throw new TargetGroupError(`${at}: "targets" is required`);
    } else if (!Array.isArray(t) || t.some((x) => typeof x !== "string")) {
      throw new TargetGroupError(`${at}: "targets" must be a list of strings`);
    } else {
      targets = t as string[];
      const bad = targets.find((x) => !x.isWellFormed());
      if (bad !== undefined) {
        throw new TargetGroupError(`${at}: target ${JSON.stringify(bad)} is not valid UTF-8`);
      }
    }
    const l = Object.hasOwn(g, "labels") ? g.labels : undefined;
    const labels: Record<string, string> = {};
    if (l !== undefined && l !== null && l !== "") {
      if (!isObject(l)) throw new TargetGroupError(`${at}: "labels" must be an object`);
      for (const name of Object.keys(l)) {
        const value = l[name] ?? "";
        if (name === "" || !name.isWellFormed()) {
          throw new TargetGroupError(`${at}: ${JSON.stringify(name)} is not a valid label name`);
        }
        if (typeof value !== "string") {
          throw new TargetGroupError(`${at}: label ${JSON.stringify(name)} must be a string`);
        }
        if (!value.isWellFormed()) {
          throw new TargetGroupError(`${at}: label ${JSON.stringify(name)} is not valid UTF-8`);
        }
        Object.defineProperty(labels, name, {
          value,
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
    }
    return { targets, labels };
  });
}

function kind(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "an object";
  return `a ${typeof v}`;
}
