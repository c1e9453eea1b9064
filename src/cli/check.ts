/**
 * `main.ts check …`: offline checks for config authors.
 *
 * - `check relabel FILE --job NAME '{__address__="…"}'` runs a job's target
 *   relabeling (or `--metric` relabeling) on a label set and prints every step.
 *
 * @module
 */

import { loadConfig } from "../config/load.ts";
import type { ResolvedRelabelConfig, ResolvedScrapeConfig } from "../config/types.ts";
import { Labels } from "../model/labels.ts";
import { compileRules, relabelSteps } from "../relabel/relabel.ts";
import { populateLabels } from "../scrape/target.ts";
import { checkConfigMain } from "./check_config.ts";
import { checkTargetsMain } from "./check_targets.ts";
import { type FlagSpec, parseCommand, print, printErr, usage } from "./flags.ts";

const SUBCOMMANDS = `usage: main.ts check <subcommand> [args]

Subcommands:
  config FILE… [--json]            Type-check (TS) and validate configs; exit 1 if one is invalid.
  relabel FILE --job NAME LABELS   Show each relabeling step for a label set.
  targets FILE [--job NAME] [--json]
                                   Run service discovery once; show each target's labels.
`;

/** Extra `check` subcommands registered by other modules (name → main). */
export const CHECK_SUBCOMMANDS: Record<string, (args: string[]) => Promise<number>> = {
  config: (args) => checkConfigMain(args),
  relabel: checkRelabelMain,
  targets: (args) => checkTargetsMain(args),
};

/** Dispatches `check` subcommands; returns the exit code. */
export async function checkMain(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  const fn = sub === undefined ? undefined : CHECK_SUBCOMMANDS[sub];
  if (!fn) {
    if (sub === undefined || sub === "--help" || sub === "help") {
      print(SUBCOMMANDS);
      return sub === undefined ? 2 : 0;
    }
    printErr(`error: unknown check subcommand "${sub}"\n\n${SUBCOMMANDS}`);
    return 2;
  }
  return await fn(rest);
}

const RELABEL_FLAGS = {
  job: { help: "The scrape job whose rules to run.", default: "", placeholder: "NAME" },
  metric: {
    help: "Run the job's metric_relabel_configs on a series instead of target relabeling.",
    default: false,
  },
  json: { help: "Print the steps as JSON.", default: false },
  help: { help: "Show this help.", default: false },
} satisfies Record<string, FlagSpec>;

const RELABEL_HELP = usage(
  "main.ts check relabel CONFIG --job NAME LABELS",
  `Runs a job's relabel rules on LABELS and prints every step: the rule, the labels before and
after it, and whether the labels were kept. LABELS is a label set such as
'{__address__="db1:9100", env="prod"}' (or a JSON object). Target relabeling starts from the
labels Prometheus adds before it (job, __scheme__, __metrics_path__, __scrape_interval__, …).`,
  RELABEL_FLAGS,
);

/** One printed step. */
interface StepOut {
  step: number;
  rule: ResolvedRelabelConfig;
  before: Record<string, string>;
  after: Record<string, string> | null;
  kept: boolean;
}

/** `check relabel`; returns the exit code (0 ok, 1 config or input error, 2 usage). */
export async function checkRelabelMain(args: string[]): Promise<number> {
  const parsed = parseCommand(args, RELABEL_FLAGS, RELABEL_HELP);
  if (typeof parsed === "number") return parsed;
  const { flags, rest } = parsed;
  if (rest.length !== 2 || flags.job === "") {
    printErr(`error: give a config file, --job and a label set\n\n${RELABEL_HELP}`);
    return 2;
  }
  const [file, labelText] = rest;
  let input: Labels;
  try {
    input = parseLabelSet(labelText);
  } catch (e) {
    printErr(`error: ${(e as Error).message}`);
    return 1;
  }
  let jobs: ResolvedScrapeConfig[];
  try {
    jobs = (await loadConfig(file)).config.scrapeConfigs;
  } catch (e) {
    printErr(`error loading config ${file}:\n${(e as Error).message}`);
    return 1;
  }
  const job = jobs.find((j) => j.jobName === flags.job);
  if (!job) {
    printErr(
      `error: no job "${flags.job}" in ${file} (jobs: ${
        jobs.map((j) => j.jobName).join(", ") || "none"
      })`,
    );
    return 1;
  }

  const ruleList = flags.metric ? job.metricRelabelConfigs : job.relabelConfigs;
  const rules = compileRules(ruleList);
  const start = flags.metric
    ? input
    : populateLabels(input.toObject(), {}, job, compileRules([])).discoveredLabels;
  const steps: StepOut[] = relabelSteps(rules, start).map((s, i) => ({
    step: i + 1,
    rule: s.rule,
    before: s.before.toObject(),
    after: s.after?.toObject() ?? null,
    kept: s.kept,
  }));
  const last = steps.at(-1);
  const outcome = flags.metric ? undefined : populateLabels(input.toObject(), {}, job, rules);

  if (flags.json) {
    print(JSON.stringify(
      {
        job: job.jobName,
        kind: flags.metric ? "metric" : "target",
        input: start.toObject(),
        steps,
        kept: last ? last.kept : true,
        output: last ? last.after : start.toObject(),
        ...(outcome
          ? {
            targetLabels: outcome.labels?.toObject() ?? null,
            scrapeUrl: outcome.scrapeUrl || null,
            error: outcome.error ?? null,
            ...(outcome.droppedBy ? { droppedBy: outcome.droppedBy } : {}),
          }
          : {}),
      },
      null,
      2,
    ));
    return 0;
  }

  const lines: string[] = [];
  lines.push(
    `job "${job.jobName}": ${flags.metric ? "metric" : "target"} relabeling of ${start.toString()}`,
  );
  if (steps.length === 0) lines.push("  (the job has no rules of this kind)");
  for (const s of steps) {
    lines.push(`step ${s.step}: ${describeRule(s.rule)}`);
    if (s.after === null) {
      lines.push("  dropped");
      break;
    }
    const changed =
      Labels.fromObject(s.before).toString() !== Labels.fromObject(s.after).toString();
    lines.push(changed ? `  → ${Labels.fromObject(s.after).toString()}` : "  (unchanged)");
  }
  if (outcome) {
    if (outcome.error) lines.push(`result: invalid target: ${outcome.error}`);
    else if (outcome.labels === null) {
      lines.push(outcome.droppedBy ? `result: dropped (${outcome.droppedBy})` : "result: dropped");
    } else lines.push(`result: kept ${outcome.labels.toString()}, scraped at ${outcome.scrapeUrl}`);
  } else {
    lines.push(
      last && last.after === null
        ? "result: dropped"
        : `result: kept ${Labels.fromObject(last?.after ?? start.toObject()).toString()}`,
    );
  }
  print(lines.join("\n"));
  return 0;
}

function describeRule(r: ResolvedRelabelConfig): string {
  const parts = [`action=${r.action}`];
  if (r.sourceLabels.length > 0) parts.push(`source_labels=[${r.sourceLabels.join(", ")}]`);
  if (r.separator !== ";") parts.push(`separator=${JSON.stringify(r.separator)}`);
  if (r.regex !== "(.*)") parts.push(`regex=${JSON.stringify(r.regex)}`);
  if (r.modulus !== 0) parts.push(`modulus=${r.modulus}`);
  if (r.targetLabel !== "") parts.push(`target_label=${r.targetLabel}`);
  if (r.replacement !== "$1") parts.push(`replacement=${JSON.stringify(r.replacement)}`);
  return parts.join(" ");
}

/**
 * Parses a label set written as `{a="b", c="d"}` (Prometheus' notation, with
 * `\\`, `\"` and `\n` escapes) or as a JSON object of strings.
 */
export function parseLabelSet(text: string): Labels {
  const t = text.trim();
  if (t.startsWith("{") && /^\{\s*("|\})/.test(t)) {
    let obj: unknown;
    try {
      obj = JSON.parse(t);
    } catch {
      obj = undefined;
    }
    if (obj !== undefined) {
      if (typeof obj !== "object" || obj === null || Array.isArray(obj)) {
        throw new SyntaxError("labels: want a JSON object of strings");
      }
      for (const [k, v] of Object.entries(obj)) {
        if (typeof v !== "string") throw new SyntaxError(`labels: value of "${k}" is not a string`);
      }
      return Labels.fromObject(obj as Record<string, string>);
    }
  }
  if (!t.startsWith("{") || !t.endsWith("}")) {
    throw new SyntaxError(`labels: want {name="value", …}, got ${JSON.stringify(text)}`);
  }
  const pairs: [string, string][] = [];
  const re = /\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(,|$)/y;
  const body = t.slice(1, -1);
  let pos = 0;
  while (pos < body.length && body.slice(pos).trim() !== "") {
    re.lastIndex = pos;
    const m = re.exec(body);
    if (!m) {
      throw new SyntaxError(`labels: cannot parse at ${JSON.stringify(body.slice(pos, pos + 20))}`);
    }
    pairs.push([
      m[1],
      m[2].replace(/\\(.)/g, (_, c) => c === "n" ? "\n" : c === "\\" || c === '"' ? c : "\\" + c),
    ]);
    pos = re.lastIndex;
  }
  return Labels.fromPairs(pairs);
}
