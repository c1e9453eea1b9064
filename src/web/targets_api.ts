/**
 * `/api/v1/targets/relabel_steps` and `/api/v1/targets/metadata`, as
 * Prometheus (3.8) shapes them, computed from the status provider.
 *
 * @module
 */

import type { ResolvedRelabelConfig } from "../config/types.ts";
import { Labels } from "../model/labels.ts";
import { relabelSteps } from "../relabel/relabel.ts";
import { compileRegex } from "../relabel/regex.ts";
import type { AgentStatusProvider } from "./status.ts";

/** A status code and a JSON body. */
export interface JsonResult {
  status: number;
  body: unknown;
}

function apiError(status: number, errorType: string, error: string): JsonResult {
  return { status, body: { status: "error", errorType, error } };
}

function ok(data: unknown): JsonResult {
  return { status: 200, body: { status: "success", data } };
}

/** A relabel rule in the YAML field names Prometheus' API uses, empty fields omitted. */
export function ruleJson(r: ResolvedRelabelConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (r.sourceLabels.length > 0) out.source_labels = r.sourceLabels;
  if (r.separator !== "") out.separator = r.separator;
  if (r.regex !== "") out.regex = r.regex;
  if (r.modulus !== 0) out.modulus = r.modulus;
  if (r.targetLabel !== "") out.target_label = r.targetLabel;
  if (r.replacement !== "") out.replacement = r.replacement;
  out.action = r.action;
  return out;
}

/**
 * `GET /api/v1/targets/relabel_steps?scrapePool=<name>&labels=<JSON object>`:
 * the pool's target relabeling applied to `labels` one rule at a time. Each
 * step has the rule, the labels after it (unchanged when it dropped them)
 * and whether the target is still kept.
 */
export function relabelStepsResult(status: AgentStatusProvider, q: URLSearchParams): JsonResult {
  const pool = q.get("scrapePool");
  if (pool === null || pool === "") {
    return apiError(400, "bad_data", "no scrapePool parameter provided");
  }
  const raw = q.get("labels");
  if (raw === null || raw === "") return apiError(400, "bad_data", "no labels parameter provided");
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (e) {
    return apiError(400, "bad_data", `error parsing labels: ${(e as Error).message}`);
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    return apiError(400, "bad_data", "error parsing labels: want a JSON object of strings");
  }
  const obj: Record<string, string> = {};
  for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
    if (typeof v !== "string") {
      return apiError(400, "bad_data", `error parsing labels: value of "${k}" is not a string`);
    }
    obj[k] = v;
  }
  const rules = status.relabelConfigs?.(pool);
  if (rules === undefined) return apiError(404, "not_found", `unknown scrape pool "${pool}"`);
  let steps;
  try {
    steps = relabelSteps(rules, Labels.fromObject(obj));
  } catch (e) {
    return apiError(422, "execution", (e as Error).message);
  }
  return ok({
    steps: steps.map((s) => ({
      rule: ruleJson(s.rule),
      output: (s.after ?? s.before).toObject(),
      keep: s.kept,
    })),
  });
}

/** One matcher of a series selector. */
interface Matcher {
  name: string;
  op: "=" | "!=" | "=~" | "!~";
  value: string;
  re?: RegExp;
}

/**
 * Parses a label selector `{name="v", name!="v", name=~"re", name!~"re"}`
 * (values in Go/JSON double-quoted string syntax).
 * @throws {SyntaxError} with what is wrong.
 */
export function parseSelector(s: string): Matcher[] {
  const src = s.trim();
  if (!src.startsWith("{") || !src.endsWith("}")) {
    throw new SyntaxError(`selector must be enclosed in {}: ${s}`);
  }
  const out: Matcher[] = [];
  let i = 1;
  const end = src.length - 1;
  const ws = () => {
    while (i < end && /\s/.test(src[i])) i++;
  };
  ws();
  while (i < end) {
    const m = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(src.slice(i, end));
    if (!m) throw new SyntaxError(`expected a label name at position ${i} in ${s}`);
    const name = m[0];
    i += name.length;
    ws();
    const op = (["=~", "!~", "!=", "="] as const).find((o) => src.startsWith(o, i));
    if (!op) throw new SyntaxError(`expected a match operator after "${name}" in ${s}`);
    i += op.length;
    ws();
    if (src[i] !== '"') throw new SyntaxError(`expected a quoted value for "${name}" in ${s}`);
    let j = i + 1;
    while (j < end && src[j] !== '"') j += src[j] === "\\" ? 2 : 1;
    if (j >= end) throw new SyntaxError(`unterminated string for "${name}" in ${s}`);
    let value: string;
    try {
      value = JSON.parse(src.slice(i, j + 1));
    } catch {
      throw new SyntaxError(`invalid string for "${name}" in ${s}`);
    }
    i = j + 1;
    const matcher: Matcher = { name, op, value };
    if (op === "=~" || op === "!~") matcher.re = compileRegex(value);
    out.push(matcher);
    ws();
    if (src[i] === ",") {
      i++;
      ws();
    } else if (i < end) throw new SyntaxError(`expected "," or "}" at position ${i} in ${s}`);
  }
  return out;
}

function matches(ms: Matcher[], labels: Record<string, string>): boolean {
  for (const m of ms) {
    const v = labels[m.name] ?? "";
    switch (m.op) {
      case "=":
        if (v !== m.value) return false;
        break;
      case "!=":
        if (v === m.value) return false;
        break;
      case "=~":
        if (!m.re!.test(v)) return false;
        break;
      case "!~":
        if (m.re!.test(v)) return false;
        break;
    }
  }
  return true;
}

/**
 * `GET /api/v1/targets/metadata?match_target=&metric=&limit=`: TYPE, HELP and
 * UNIT per metric per target from the scrape caches. With `metric`, entries
 * omit the `metric` field, as Prometheus does.
 */
export function metadataResult(status: AgentStatusProvider, q: URLSearchParams): JsonResult {
  let limit = -1;
  const limitText = q.get("limit");
  if (limitText !== null && limitText !== "") {
    const n = Number(limitText);
    if (!Number.isInteger(n)) return apiError(400, "bad_data", "limit must be a number");
    limit = n;
  }
  let ms: Matcher[] = [];
  const sel = q.get("match_target");
  if (sel !== null && sel !== "") {
    try {
      ms = parseSelector(sel);
    } catch (e) {
      return apiError(400, "bad_data", (e as Error).message);
    }
  }
  const metric = q.get("metric") ?? "";
  const out: Record<string, unknown>[] = [];
  for (const m of status.metadata?.() ?? []) {
    if (limit >= 0 && out.length >= limit) break;
    if (metric !== "" && m.metric !== metric) continue;
    if (ms.length > 0 && !matches(ms, m.target)) continue;
    out.push(
      metric !== ""
        ? { target: m.target, type: m.type, help: m.help, unit: m.unit }
        : { target: m.target, metric: m.metric, type: m.type, help: m.help, unit: m.unit },
    );
  }
  return ok(out);
}
