/**
 * ferry's command line: `main.ts [run] CONFIG`, `main.ts receive`, `main.ts version`.
 *
 * @module
 */

import { runMain } from "./src/cli/run.ts";
import { receiveMain } from "./src/cli/receive.ts";
import { checkMain } from "./src/cli/check.ts";
import { print } from "./src/cli/flags.ts";
import { VERSION } from "./src/version.ts";

const COMMANDS = `usage: main.ts <command> [args]

Commands:
  run [CONFIG] [flags]   Run the agent (the default command; see run --help).
  receive [flags]        A remote-write debug receiver that prints what it gets.
  check <what> [args]    Offline checks: relabel, targets (see check --help).
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
    case "version":
    case "--version":
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
