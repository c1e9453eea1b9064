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
 * A document is bounded (see {@link DOCUMENT_LIMITS}) so that a hostile or
 * runaway source costs bounded memory: its size in bytes (checked by the
 * reader, file.ts or http.ts), its number of targets, and, before anything is
 * built, its structure: JSON objects and lists (about 100 bytes each in
 * `JSON.parse`), YAML nodes (about 1 KiB each in the `yaml` parser, which
 * builds a full document tree). A document over a limit is rejected with a
 * {@link TargetGroupError} like a syntax error: the source keeps its last good
 * targets. Prometheus has none of these limits; they are far above what one
 * agent can scrape.
 *
 * @module
 */

import { CST, isSeq, Lexer, LineCounter, parseDocument } from "yaml";
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

/** Bounds on one discovery document (a file_sd file or an http_sd response). */
export interface DocumentLimits {
  /** Size in bytes (enforced by the reader: file.ts, http.ts). */
  bytes: number;
  /** Targets over all groups. */
  targets: number;
  /** JSON objects and lists, counted before parsing. */
  jsonContainers: number;
  /** YAML nodes (scalars, aliases, sequence items, keys, values, flow collections), counted before parsing. */
  yamlNodes: number;
}

/**
 * The limits of every discovery document: 16 MiB, 100,000 targets, 500,000
 * JSON objects and lists, 250,000 YAML nodes (a block list of targets takes
 * two per target: the item and its scalar). Each keeps the memory a document
 * costs while it is decoded to a few hundred MB at most.
 */
export const DOCUMENT_LIMITS: Readonly<DocumentLimits> = Object.freeze({
  bytes: 16 << 20,
  targets: 100_000,
  jsonContainers: 500_000,
  yamlNodes: 250_000,
});

/** Options of the decoders. */
export interface DecodeOptions {
  /** Every group must have a `targets` list (http_sd). @default false */
  requireTargets?: boolean;
  /** Lower limits (tests). @default DOCUMENT_LIMITS */
  limits?: Partial<DocumentLimits>;
}

/** Decodes a JSON target-group list. */
export function decodeJsonGroups(text: string, opts: DecodeOptions = {}): RawGroup[] {
  const maxContainers = opts.limits?.jsonContainers ?? DOCUMENT_LIMITS.jsonContainers;
  if (jsonContainersOver(text, maxContainers)) {
    throw new TargetGroupError(
      `document has more than ${maxContainers} JSON objects and lists (the limit of one document)`,
    );
  }
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
  const maxNodes = opts.limits?.yamlNodes ?? DOCUMENT_LIMITS.yamlNodes;
  if (yamlNodesOver(text, maxNodes)) {
    throw new TargetGroupError(
      `document has more than ${maxNodes} YAML nodes (the limit of one document)`,
    );
  }
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
  const maxTargets = opts.limits?.targets ?? DOCUMENT_LIMITS.targets;
  let total = 0;
  for (const g of v) {
    const t = isObject(g) && Object.hasOwn(g, "targets") ? g.targets : undefined;
    if (Array.isArray(t)) total += t.length;
  }
  if (total > maxTargets) {
    throw new TargetGroupError(
      `document has ${total} targets, more than the limit of ${maxTargets} per document`,
    );
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

/** Whether a JSON text has more than `max` objects and lists (`{` and `[` outside strings). */
function jsonContainersOver(text: string, max: number): boolean {
  // Each object or list takes a character: a shorter text cannot be over.
  if (text.length <= max) return false;
  let n = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if ((c === 0x7b || c === 0x5b) && ++n > max) return true;
  }
  return false;
}

/** YAML tokens that become (part of) a node of the document tree. */
const YAML_NODE_TOKENS = new Set<string | null>([
  "scalar",
  "alias",
  "block-scalar-header",
  "seq-item-ind",
  "explicit-key-ind",
  "map-value-ind",
  "flow-map-start",
  "flow-seq-start",
]);

/** Whether a YAML text has more than `max` nodes, counted with the lexer (no tree is built). */
function yamlNodesOver(text: string, max: number): boolean {
  // The lexer yields at most a few node tokens per character: short texts need no count.
  if (text.length * 8 <= max) return false;
  let n = 0;
  for (const token of new Lexer().lex(text)) {
    if (YAML_NODE_TOKENS.has(CST.tokenType(token)) && ++n > max) return true;
  }
  return false;
}

function kind(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "an object";
  return `a ${typeof v}`;
}
