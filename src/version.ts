/**
 * ferry's version, and the build facts `version` prints.
 *
 * @module
 */

/** ferry's version, as reported in `User-Agent`, `prometheus_build_info` and `version`. */
export const VERSION = "0.1.0";

/** What a compiled binary's entry point records at build time (see `tools/compile.ts`). */
export interface BuildInfo {
  /** The git commit ferry was built from (`git rev-parse HEAD`, `-dirty` if changed). */
  commit?: string;
  /** A site binary's built-in config, as given to `deno task compile --config`. */
  config?: string;
}

/**
 * The line `version` prints:
 * `ferry 0.1.0 (commit 1a2b…, deno 2.9.6, x86_64-unknown-linux-gnu)`, with
 * `, config sites/berlin.config.ts` added for a site binary.
 */
export function versionLine(build: BuildInfo = {}): string {
  const parts = [
    `commit ${build.commit || "unknown"}`,
    `deno ${Deno.version.deno}`,
    Deno.build.target,
  ];
  if (build.config) parts.push(`config ${build.config}`);
  return `ferry ${VERSION} (${parts.join(", ")})`;
}

/**
 * The commit of the source checkout ferry runs from, read from its `.git`
 * only when ferry may already read it (never prompts); `undefined` when that
 * is not allowed or not a git checkout.
 */
export function sourceCommit(root: URL = new URL("../", import.meta.url)): string | undefined {
  if (root.protocol !== "file:") return undefined;
  const git = new URL(".git/", root);
  const readable = (u: URL) => {
    try {
      return Deno.permissions.querySync({ name: "read", path: u }).state === "granted";
    } catch {
      return false;
    }
  };
  const read = (u: URL): string | undefined => {
    if (!readable(u)) return undefined;
    try {
      return Deno.readTextFileSync(u).trim();
    } catch {
      return undefined;
    }
  };
  const head = read(new URL("HEAD", git));
  if (head === undefined) return undefined;
  if (/^[0-9a-f]{40,64}$/.test(head)) return head;
  const ref = /^ref: (\S+)$/.exec(head)?.[1];
  if (ref === undefined) return undefined;
  const loose = read(new URL(ref, git));
  if (loose !== undefined && /^[0-9a-f]{40,64}$/.test(loose)) return loose;
  for (const line of (read(new URL("packed-refs", git)) ?? "").split("\n")) {
    const [sha, name] = line.split(" ");
    if (name === ref && /^[0-9a-f]{40,64}$/.test(sha)) return sha;
  }
  return undefined;
}
