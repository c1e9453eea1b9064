/**
 * A small flag parser with Prometheus' conventions: `--name=value` or
 * `--name value`, boolean flags as `--name` / `--no-name`, dotted names.
 *
 * @module
 */

/** Describes one flag. */
export interface FlagSpec {
  /** Help text. */
  help: string;
  /** Default value; a boolean default makes it a boolean flag. */
  default: string | boolean;
  /** Placeholder shown in help. */
  placeholder?: string;
}

/** Thrown for unknown flags or missing values; the CLI prints it with the usage. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Parses `args` against `specs`; returns flag values and positional arguments. */
export function parseFlags<S extends Record<string, FlagSpec>>(
  args: string[],
  specs: S,
): {
  flags: { [K in keyof S]: S[K]["default"] extends boolean ? boolean : string };
  rest: string[];
} {
  const flags: Record<string, string | boolean> = {};
  for (const [k, s] of Object.entries(specs)) flags[k] = s.default;
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--") {
      rest.push(...args.slice(i + 1));
      break;
    }
    if (!a.startsWith("--") || a === "-") {
      rest.push(a);
      continue;
    }
    const eq = a.indexOf("=");
    let name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
    let negated = false;
    if (!(name in specs) && name.startsWith("no-") && name.slice(3) in specs) {
      name = name.slice(3);
      negated = true;
    }
    const spec = specs[name];
    if (!spec) throw new UsageError(`unknown flag --${name}`);
    if (typeof spec.default === "boolean") {
      if (eq >= 0) {
        const v = a.slice(eq + 1);
        if (v !== "true" && v !== "false") {
          throw new UsageError(`--${name} takes true or false, not "${v}"`);
        }
        flags[name] = v === "true";
      } else flags[name] = !negated;
      continue;
    }
    if (negated) throw new UsageError(`--no-${name} is not a boolean flag`);
    if (eq >= 0) flags[name] = a.slice(eq + 1);
    else if (i + 1 < args.length) flags[name] = args[++i];
    else throw new UsageError(`--${name} needs a value`);
  }
  // deno-lint-ignore no-explicit-any
  return { flags: flags as any, rest };
}

/** Renders help for a command. */
export function usage(command: string, summary: string, specs: Record<string, FlagSpec>): string {
  const lines = [`usage: ${command}`, "", summary, "", "Flags:"];
  for (const [k, s] of Object.entries(specs)) {
    const flag = typeof s.default === "boolean" ? `--${k}` : `--${k}=${s.placeholder ?? "VALUE"}`;
    const def = s.default === "" || s.default === false ? "" : ` (default: ${s.default})`;
    lines.push(`  ${flag.padEnd(38)} ${s.help}${def}`);
  }
  return lines.join("\n") + "\n";
}

/** Writes user-facing CLI output (not logs) to stdout. */
export function print(text: string): void {
  writeAll(Deno.stdout, text);
}

/** Writes user-facing CLI errors to stderr. */
export function printErr(text: string): void {
  writeAll(Deno.stderr, text);
}

function writeAll(w: { writeSync(b: Uint8Array): number }, text: string): void {
  const buf = new TextEncoder().encode(text.endsWith("\n") ? text : text + "\n");
  let off = 0;
  while (off < buf.length) off += w.writeSync(buf.subarray(off));
}

/**
 * Parses a command's flags the way every ferry command does: a usage error
 * prints the message and the help (exit code 2), `--help` prints the help
 * (exit code 0). Returns the parsed flags, or the exit code to return.
 */
export function parseCommand<S extends Record<string, FlagSpec> & { help: FlagSpec }>(
  args: string[],
  specs: S,
  help: string,
): ReturnType<typeof parseFlags<S>> | number {
  let parsed;
  try {
    parsed = parseFlags(args, specs);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    printErr(`error: ${e.message}\n\n${help}`);
    return 2;
  }
  if ((parsed.flags as Record<string, unknown>).help === true) {
    print(help);
    return 0;
  }
  return parsed;
}
