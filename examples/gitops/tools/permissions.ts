/**
 * `deno task permissions [--check]`: writes what each site's agent may do —
 * the output of ferry's `permissions` command — to `permissions/<site>.json`,
 * so every change to a site's network, file or environment access shows up
 * in review as a diff of that file. With `--check`, writes nothing and exits
 * 1 when a file is missing or differs (CI).
 *
 * Paths inside this repository are written relative to it (`./sites/…`),
 * paths inside ferry's checkout as `<ferry>/…` (found from the `"ferry"`
 * import in deno.json), so the files do not depend on where the repository
 * is checked out. The storage directory is the one of the deployed agents.
 *
 * @module
 */

import { basename, dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The agent's storage directory in production (deploy/systemd/ferry.service). */
const STORAGE = "/var/lib/ferry";
const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const SITES = join(ROOT, "sites");
const OUT = join(ROOT, "permissions");

/** The fields of `permissions --json` that a review should see change. */
interface Snapshot {
  net: string[];
  read: string[];
  write: string[];
  env: string[];
  notes: string[];
}

function ferryRoot(): string {
  const deno = JSON.parse(Deno.readTextFileSync(join(ROOT, "deno.json")));
  return dirname(resolve(ROOT, deno.imports.ferry));
}

/** Rewrites absolute paths under the repository or ferry's checkout (the deeper one wins). */
function portable(value: string, ferry: string): string {
  const dirs = [[ferry, "<ferry>"], [ROOT, "."]].sort((a, b) => b[0].length - a[0].length);
  for (const [dir, name] of dirs) {
    if (value === dir) return name;
    if (value.startsWith(dir + "/")) return `${name}/${relative(dir, value)}`;
  }
  return value;
}

async function snapshot(config: string, ferry: string): Promise<Snapshot> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "task",
      "--quiet",
      "ferry",
      "permissions",
      "--json",
      `--storage.agent.path=${STORAGE}`,
      config,
    ],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`ferry permissions ${config} failed:\n${new TextDecoder().decode(out.stderr)}`);
  }
  const p = JSON.parse(new TextDecoder().decode(out.stdout)) as Snapshot;
  const fix = (list: string[] = []) => list.map((v) => portable(v, ferry)).sort();
  return {
    net: p.net,
    read: fix(p.read),
    write: fix(p.write),
    env: p.env ?? [],
    notes: fix(p.notes),
  };
}

async function main(check: boolean): Promise<number> {
  const ferry = ferryRoot();
  const sites = [...Deno.readDirSync(SITES)]
    .filter((e) => e.isFile && e.name.endsWith(".config.ts"))
    .map((e) => e.name)
    .sort();
  let stale = 0;
  if (!check) Deno.mkdirSync(OUT, { recursive: true });
  for (const name of sites) {
    const site = basename(name, ".config.ts");
    const file = join(OUT, `${site}.json`);
    const text = JSON.stringify(await snapshot(`sites/${name}`, ferry), null, 2) + "\n";
    let old: string | undefined;
    try {
      old = Deno.readTextFileSync(file);
    } catch {
      old = undefined;
    }
    if (old === text) continue;
    if (check) {
      stale++;
      Deno.stderr.writeSync(
        new TextEncoder().encode(
          `permissions/${site}.json is out of date; its content is now:\n${text}`,
        ),
      );
    } else {
      Deno.writeTextFileSync(file, text);
      Deno.stderr.writeSync(new TextEncoder().encode(`wrote permissions/${site}.json\n`));
    }
  }
  if (stale > 0) {
    Deno.stderr.writeSync(
      new TextEncoder().encode(
        "run `deno task permissions`, review the change and commit permissions/\n",
      ),
    );
    return 1;
  }
  return 0;
}

Deno.exit(await main(Deno.args.includes("--check")));
