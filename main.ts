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
import { VERSION } from "./src/version.ts";

const COMMANDS = `usage: main.ts <command> [args]

Commands:
  run [CONFIG] [flags]   Run the agent (the default command; see run --help).
  receive [flags]        A remote-write debug receiver that prints what it gets.
  check <what> [args]    Offline checks: config, relabel, targets (see check --help).
  import PROMETHEUS_YML  Write an equivalent TypeScript config (agent.config.ts).
  permissions CONFIG     Print the narrowest Deno permission flags the config needs.
  version                Print the version.
`;

/** Dispatches to a command; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const [cmd, ...rest] = args;
  switch (cmd) {
    case "run":
      return await runMain(rest);
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
          "usage: main.ts version\n\nPrints ferry's version, the Deno version and the platform.",
        );
        return 0;
      }
      print(`ferry ${VERSION} (deno ${Deno.version.deno}, ${Deno.build.target})`);
      return 0;
    case "help":
    case "-h":
      print(COMMANDS);
      return 0;
    default:
      return await runMain(args);
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
