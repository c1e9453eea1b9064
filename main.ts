/**
 * ferry's command line: `main.ts [run] CONFIG`, `main.ts receive`, `main.ts version`.
 *
 * @module
 */

import { runMain } from "./src/cli/run.ts";
import { receiveMain } from "./src/cli/receive.ts";
import { checkMain } from "./src/cli/check.ts";
import { permissionsMain } from "./src/cli/permissions.ts";
import { importMain } from "./src/cli/import.ts";
import { print } from "./src/cli/flags.ts";
import { type BuildInfo, sourceCommit, versionLine } from "./src/version.ts";
import type { RunOptions } from "./src/cli/baked.ts";

const COMMANDS = `usage: main.ts <command> [args]

Commands:
  run [CONFIG] [flags]   Run the agent (the default command; see run --help).
  receive [flags]        A remote-write debug receiver that prints what it gets.
  check <what> [args]    Offline checks: config, relabel, targets (see check --help).
  import PROMETHEUS_YML  Write an equivalent TypeScript config (agent.config.ts).
  permissions CONFIG     Print the narrowest Deno permission flags the config needs.
  version, --version     Print the version and the commit it was built from.
`;

/** What a compiled binary's entry point passes to {@link main} (see tools/compile.ts). */
export interface MainOptions extends RunOptions {
  /** Build facts for `version`; without them the commit is read from a git checkout if allowed. */
  build?: BuildInfo;
}

/** Dispatches to a command; returns the exit code. */
export async function main(args: string[], opts: MainOptions = {}): Promise<number> {
  const { build, ...rest0 } = opts;
  const runOptions: RunOptions = { ...rest0, build: build ?? { commit: sourceCommit() } };
  const [cmd, ...rest] = args;
  switch (cmd) {
    case "run":
      return await runMain(rest, runOptions);
    case "receive":
      return await receiveMain(rest);
    case "check":
      return await checkMain(rest);
    case "import":
      return await importMain(rest);
    case "permissions":
      return await permissionsMain(rest);
    case "version":
    case "--version":
      if (rest.includes("--help") || rest.includes("-h")) {
        print(
          "usage: main.ts version\n\nPrints ferry's version, the commit it was built from, the Deno version\nand the platform (and a site binary's built-in config).",
        );
        return 0;
      }
      print(versionLine(build ?? { commit: sourceCommit() }));
      return 0;
    case "help":
    case "-h":
      print(COMMANDS);
      return 0;
    default:
      return await runMain(args, runOptions);
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
