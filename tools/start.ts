/**
 * `deno task start`: the debug receiver on 127.0.0.1:9201 and the agent on
 * `config.example.ts`, the agent under exactly the permissions
 * `main.ts permissions` derives for that config (printed first), never
 * prompting. Ctrl-C (or SIGTERM) stops both: the agent first.
 *
 * Extra arguments are passed to the agent (`deno task start --log.level=debug`).
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { loadConfig } from "../src/config/load.ts";
import { print, printErr } from "../src/cli/flags.ts";
import { computePermissions, permissionFlags } from "../src/cli/permissions.ts";
import { V8_FLAGS_ARG } from "../src/cli/v8_flags.ts";
import { MALLOC_ENV, MALLOC_ENV_PREFIX } from "../src/cli/malloc_env.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const CONFIG = "config.example.ts";
const STORAGE = "data/agent";
const LISTEN = "127.0.0.1:9095";
const RECEIVER = "127.0.0.1:9201";

/** The `deno run` arguments of the agent: the derived permissions, main.ts and its flags. */
export async function agentArgs(extra: string[] = []): Promise<string[]> {
  const { config } = await loadConfig(`${ROOT}${CONFIG}`);
  const perms = await computePermissions(config, {
    configFile: `${ROOT}${CONFIG}`,
    storagePath: `${ROOT}${STORAGE}`,
    listenAddress: LISTEN,
  });
  for (const n of perms.notes) printErr(`note: ${n}`);
  return [
    "run",
    "--no-prompt",
    V8_FLAGS_ARG,
    ...permissionFlags(perms),
    "main.ts",
    CONFIG,
    `--storage.agent.path=${STORAGE}`,
    `--web.listen-address=${LISTEN}`,
    "--storage.remote.flush-deadline=5s",
    ...extra,
  ];
}

async function start(extra: string[]): Promise<number> {
  const deno = Deno.execPath();
  const receiverArgs = [
    "run",
    `--allow-net=${RECEIVER}`,
    "main.ts",
    "receive",
    "--listen",
    RECEIVER,
  ];
  const args = await agentArgs(extra);
  print(`$ deno ${receiverArgs.join(" ")} &`);
  print(`$ ${MALLOC_ENV_PREFIX} deno ${args.join(" ")}`);
  const receiver = new Deno.Command(deno, { args: receiverArgs, cwd: ROOT }).spawn();
  const agent = new Deno.Command(deno, { args, cwd: ROOT, env: { ...MALLOC_ENV } }).spawn();
  // Ctrl-C reaches both children through the process group; a signal sent to this
  // process alone is passed on to the agent (ferry treats a repeat within 1 s as one).
  // The receiver stops once the agent has shut down, so the agent can drain into it.
  const forward = (signal: Deno.Signal) => () => {
    try {
      agent.kill(signal);
    } catch {
      // already gone
    }
  };
  const onInt = forward("SIGINT"), onTerm = forward("SIGTERM");
  Deno.addSignalListener("SIGINT", onInt);
  Deno.addSignalListener("SIGTERM", onTerm);
  const status = await agent.status;
  try {
    receiver.kill("SIGTERM");
  } catch {
    // already gone
  }
  await receiver.status;
  Deno.removeSignalListener("SIGINT", onInt);
  Deno.removeSignalListener("SIGTERM", onTerm);
  return status.code;
}

if (import.meta.main) {
  Deno.exit(await start(Deno.args));
}
