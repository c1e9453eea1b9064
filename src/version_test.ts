import { assertEquals, assertStringIncludes } from "./testing/assert.ts";
import { sourceCommit, VERSION, versionLine } from "./version.ts";

const SHA = "0123456789abcdef0123456789abcdef01234567";

Deno.test("versionLine: version, commit, deno, target, and a site binary's config", () => {
  assertEquals(
    versionLine({ commit: SHA }),
    `ferry ${VERSION} (commit ${SHA}, deno ${Deno.version.deno}, ${Deno.build.target})`,
  );
  assertStringIncludes(versionLine(), "(commit unknown, deno ");
  assertStringIncludes(
    versionLine({ commit: "x", config: "sites/a.config.ts" }),
    ", config sites/a.config.ts)",
  );
});

Deno.test("sourceCommit: HEAD, a loose ref or packed-refs; undefined without .git", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-git-" });
  try {
    const root = new URL(`file://${dir}/`);
    assertEquals(sourceCommit(root), undefined);
    await Deno.mkdir(`${dir}/.git/refs/heads`, { recursive: true });
    await Deno.writeTextFile(`${dir}/.git/HEAD`, `${SHA}\n`);
    assertEquals(sourceCommit(root), SHA);
    await Deno.writeTextFile(`${dir}/.git/HEAD`, "ref: refs/heads/main\n");
    await Deno.writeTextFile(`${dir}/.git/packed-refs`, `# pack-refs\n${SHA} refs/heads/main\n`);
    assertEquals(sourceCommit(root), SHA);
    const other = SHA.replace("0", "f");
    await Deno.writeTextFile(`${dir}/.git/refs/heads/main`, `${other}\n`);
    assertEquals(sourceCommit(root), other);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("main.ts version: without read permission the commit is unknown, never a prompt", async () => {
  const main = new URL("../main.ts", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", main, "--version"],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
  assertStringIncludes(text, `ferry ${VERSION} (commit unknown, deno ${Deno.version.deno}, `);
});
