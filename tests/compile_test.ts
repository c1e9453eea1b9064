/**
 * `deno task compile` (tools/compile.ts): the dry run's command lines and
 * entry points, and one real `deno compile` of a site binary.
 *
 * denort (the runtime `deno compile` downloads) is not reachable here, so the
 * real compile sets `DENORT_BIN` to the deno binary itself: the output is
 * then a deno that ignores its payload, but the payload — the permissions,
 * the entry point and the embedded files — is written exactly as with
 * denort, and read back here. The program itself is then checked by running
 * the generated entry point under `deno run` with exactly the embedded
 * permission flags against a loopback target and receiver.
 */

import { assert, assertEquals, assertStringIncludes } from "../src/testing/assert.ts";
import { resolveConfig } from "../src/config/resolve.ts";
import { computePermissions } from "../src/cli/permissions.ts";
import {
  freePort,
  getText,
  metricValue,
  Proc,
  ROOT,
  skipLoudly,
  startReceiver,
  waitFor,
} from "./helpers.ts";

const DENO = Deno.execPath();
const COMPILE = `${ROOT}tools/compile.ts`;
const HOST = Deno.build.target;

async function run(
  args: string[],
  opts: { cwd?: string; env?: Record<string, string> } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(DENO, {
    args,
    cwd: opts.cwd ?? ROOT,
    env: { NO_COLOR: "1", ...opts.env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** What `deno compile` embeds: the metadata JSON and the file names of the virtual file system. */
interface Embedded {
  // deno-lint-ignore no-explicit-any
  metadata: any;
  files: string[];
}

/**
 * Reads a `deno compile` payload from the end of a binary: after the last
 * `d3n0l4ndd3n0l4nd` marker, a little-endian u64 length and the metadata
 * JSON; later, the VFS listing (a JSON array preceded by its u64 length).
 */
function readEmbedded(bin: Uint8Array): Embedded {
  const marker = new TextEncoder().encode("d3n0l4ndd3n0l4nd");
  let at = -1;
  search: for (let i = bin.length - marker.length; i >= 0; i--) {
    for (let j = 0; j < marker.length; j++) if (bin[i + j] !== marker[j]) continue search;
    at = i;
    break;
  }
  assert(at >= 0, "no deno compile payload marker");
  const view = new DataView(bin.buffer, bin.byteOffset, bin.byteLength);
  const len = (off: number) => Number(view.getBigUint64(off, true));
  const metaStart = at + marker.length + 8;
  const metaLen = len(at + marker.length);
  const dec = new TextDecoder();
  const metadata = JSON.parse(dec.decode(bin.subarray(metaStart, metaStart + metaLen)));
  // The VFS listing: the first `[{"` after the metadata whose preceding u64 is its length.
  const open = new TextEncoder().encode('[{"');
  let files: string[] | undefined;
  scan: for (let i = metaStart + metaLen; i < bin.length - 3; i++) {
    for (let j = 0; j < open.length; j++) if (bin[i + j] !== open[j]) continue scan;
    const n = len(i - 8);
    if (n <= 0 || i + n > bin.length) continue;
    try {
      files = flatten(JSON.parse(dec.decode(bin.subarray(i, i + n))), "");
      break;
    } catch {
      // not it
    }
  }
  assert(files !== undefined, "no VFS listing after the metadata");
  return { metadata, files };
}

type VfsEntry = { Dir?: { n: string; e: VfsEntry[] }; File?: { n: string } };

function flatten(entries: VfsEntry[], base: string): string[] {
  return entries.flatMap((e) => {
    if (e.Dir) return flatten(e.Dir.e, `${base}${e.Dir.n}/`);
    if (e.File) return [`${base}${e.File.n}`];
    return [];
  });
}

/** `deno run` flags for the permissions in `deno compile` metadata. */
function flagsOf(permissions: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const kind of ["net", "read", "write", "env", "run", "sys", "ffi"]) {
    const v = permissions[`allow_${kind}`];
    if (v === null || v === undefined) continue;
    out.push((v as string[]).length === 0 ? `--allow-${kind}` : `--allow-${kind}=${v}`);
  }
  if (permissions.prompt === false) out.push("--no-prompt");
  return out;
}

Deno.test("compile --dry-run: generic binary — command line, narrow permissions, entry with the commit", async () => {
  const out = await Deno.makeTempDir({ prefix: "ferry-compile-" });
  try {
    const r = await run(["run", "-A", COMPILE, "--dry-run", "--output", out]);
    assertEquals(r.code, 0, r.stderr);
    const [cmd] = r.stdout.split("\n");
    assertStringIncludes(cmd, " compile --config ");
    for (
      const f of [
        "--no-prompt",
        "--v8-flags=--max-semi-space-size=8 ", // baked into the binary (src/cli/v8_flags.ts)
        "--allow-net ",
        "--allow-read ",
        "--allow-write=data-agent/ ",
        "--allow-env=FERRY_SHARD_INDEX,FERRY_SHARD_TOTAL,FERRY_REPLICA ",
        "--allow-run=deno ",
        `--target ${HOST} `,
        `--output ${out}/ferry-${HOST} `,
        `${out}/.build/generic/entry.ts`,
      ]
    ) assertStringIncludes(cmd, f);
    assert(!cmd.includes("--allow-all") && !cmd.includes("--allow-sys"), cmd);
    // The entry records the commit of this checkout (or "unknown" outside git).
    assertStringIncludes(r.stdout, "await main(Deno.args, {");
    assert(/build: \{ commit: "([0-9a-f]{40}(-dirty)?|unknown)" \}/.test(r.stdout), r.stdout);
    // The build's deno.json leaves out the test-only npm packages.
    assertStringIncludes(r.stdout, '"ferry": "file://');
    assert(!r.stdout.includes("playwright-core") && !r.stdout.includes("fast-check"), r.stdout);
    // Nothing was written.
    assertEquals([...Deno.readDirSync(out)].length, 0);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("compile --dry-run: site binary — derived permissions, relative paths kept, all targets", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-compile-" });
  try {
    await Deno.mkdir(`${dir}/sites`);
    await Deno.writeTextFile(
      `${dir}/sites/berlin.config.ts`,
      `import { defineConfig } from "ferry";
export default defineConfig({
  scrapeConfigs: [{ jobName: "node", staticConfigs: [{ targets: ["10.1.2.3:9100"] }],
    basicAuth: { username: "u", passwordFile: "secrets/pw" } }],
  remoteWrite: [{ url: "https://mimir.example/api/v1/push" }],
});
`,
    );
    await Deno.writeTextFile(
      `${dir}/edge.yml`,
      "scrape_configs:\n  - job_name: y\n    static_configs: [{ targets: ['127.0.0.1:9100'] }]\n",
    );
    const r = await run([
      "run",
      "-A",
      COMPILE,
      "--dry-run",
      "--config",
      "sites/berlin.config.ts",
      "--target",
      "all",
      "--storage.agent.path",
      "./data",
      "--web.listen-address=0.0.0.0:9095",
    ], { cwd: dir });
    assertEquals(r.code, 0, r.stderr);
    const cmds = r.stdout.split("\n").filter((l) => l.includes(" compile "));
    assertEquals(cmds.length, 5);
    assertStringIncludes(cmds[4], `ferry-berlin-x86_64-pc-windows-msvc.exe`);
    const cmd = cmds[0];
    for (
      const f of [
        "--no-prompt",
        "--allow-net=0.0.0.0:9095,10.1.2.3:9100,mimir.example:443 ",
        // Relative paths stay relative: resolved where the binary runs. No config file read.
        "--allow-read=./data,secrets/pw ",
        "--allow-write=./data ",
        "--target x86_64-unknown-linux-gnu ",
        `--output ${dir}/dist/ferry-berlin-x86_64-unknown-linux-gnu `,
      ]
    ) assertStringIncludes(cmd, f);
    assert(!cmd.includes("--allow-run"), cmd);
    assertStringIncludes(r.stdout, 'import * as site from "../../../sites/berlin.config.ts";');
    assertStringIncludes(r.stdout, 'name: "sites/berlin.config.ts"');
    assertStringIncludes(r.stdout, '"storage.agent.path": "./data"');
    assertStringIncludes(r.stdout, '"web.listen-address": "0.0.0.0:9095"');

    // A prometheus.yml is read now and built in as data.
    const y = await run(["run", "-A", COMPILE, "--dry-run", "--config", "edge.yml"], { cwd: dir });
    assertEquals(y.code, 0, y.stderr);
    assertStringIncludes(y.stdout, `ferry-edge-${HOST}`);
    assertStringIncludes(y.stdout, '"jobName":"y"');
    assertStringIncludes(y.stdout, "--allow-net=127.0.0.1:9095,127.0.0.1:9100 ");

    const bad = await run(["run", "-A", COMPILE, "--dry-run", "--target", "riscv"], { cwd: dir });
    assertEquals(bad.code, 2);
    assertStringIncludes(bad.stderr, "unknown --target riscv");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("compile: when denort cannot be downloaded and DENORT_BIN is unset, a hint says what to do", async () => {
  const out = await Deno.makeTempDir({ prefix: "ferry-compile-" });
  try {
    // An unreachable proxy makes the download fail here as it does offline.
    const env = Deno.env.toObject();
    delete env.DENORT_BIN;
    const r = await new Deno.Command(DENO, {
      args: ["run", "-A", COMPILE, "--output", out],
      cwd: ROOT,
      clearEnv: true,
      env: {
        ...env,
        NO_COLOR: "1",
        HTTPS_PROXY: "http://127.0.0.1:1",
        https_proxy: "http://127.0.0.1:1",
      },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(r.stderr);
    assertEquals(r.code, 1, stderr);
    assertStringIncludes(stderr, "hint: deno compile downloads its runtime (denort)");
    assertStringIncludes(stderr, "set DENORT_BIN to the denort binary");
    assertStringIncludes(stderr, `denort-${HOST}.zip`);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test({
  name:
    "compile: a real site binary embeds the derived permissions, no prompt, the entry, UI and config; its entry runs under exactly those permissions",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "ferry-compile-real-" });
    const target = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      () => new Response("compiled_up 1\n"),
    );
    const rxPort = freePort(), webPort = freePort();
    const rx = startReceiver(rxPort);
    let agent: Proc | undefined;
    try {
      await Deno.mkdir(`${dir}/sites`);
      const configText = `import { defineConfig } from "ferry";

export default defineConfig({
  global: { scrapeInterval: "1s", scrapeTimeout: "1s" },
  scrapeConfigs: [{ jobName: "edge", staticConfigs: [{ targets: ["127.0.0.1:${target.addr.port}"] }] }],
  remoteWrite: [{ url: "http://127.0.0.1:${rxPort}/api/v1/write", queueConfig: { batchSendDeadline: "500ms" } }],
});
`;
      await Deno.writeTextFile(`${dir}/sites/edge.config.ts`, configText);
      const listen = `127.0.0.1:${webPort}`;
      const c = await run([
        "run",
        "-A",
        COMPILE,
        "--config",
        "sites/edge.config.ts",
        "--storage.agent.path=./data",
        `--web.listen-address=${listen}`,
        "--output",
        "dist",
      ], { cwd: dir, env: { DENORT_BIN: DENO } });
      if (c.code !== 0) {
        if (/dl\.deno\.land|denort|error sending request/.test(c.stderr)) {
          skipLoudly(
            "real deno compile",
            `deno compile failed for environmental reasons:\n${c.stderr}`,
          );
          return;
        }
        throw new Error(`compile failed:\n${c.stdout}\n${c.stderr}`);
      }
      const bin = `${dir}/dist/ferry-edge-${HOST}`;
      const { metadata, files } = readEmbedded(await Deno.readFile(bin));

      // The permissions are exactly the derived ones, relative paths as given.
      const expected = await computePermissions(
        resolveConfig((await import(`file://${dir}/sites/edge.config.ts`)).default),
        { storagePath: "./data", listenAddress: listen, relative: true },
      );
      const p = metadata.permissions;
      assertEquals(p.allow_net, expected.net);
      assertEquals(p.allow_read, expected.read);
      assertEquals(p.allow_write, expected.write);
      assertEquals(p.allow_env, expected.env);
      assertEquals(p.allow_read, ["./data"]);
      for (const k of ["allow_run", "allow_ffi", "allow_sys"]) assertEquals(p[k], null, k);
      assertEquals(p.prompt, false);

      // The entry point, the UI modules and the built-in config are embedded.
      assert(String(metadata.entrypoint_key).endsWith("dist/.build/edge/entry.ts"));
      const has = (suffix: string) => files.some((f) => f.endsWith(suffix));
      for (
        const f of [
          "dist/.build/edge/entry.ts",
          "sites/edge.config.ts",
          "main.ts",
          "src/web/ui/home.ts",
          "src/web/ui/pages.ts",
          "src/cli/run.ts",
        ]
      ) assert(has(f), `${f} is not embedded: ${files.filter((x) => !x.includes("node_modules"))}`);
      assert(
        !files.some((f) => f.includes("playwright-core")),
        "test-only npm packages are embedded",
      );

      // The compiled entry point under deno run with the same permissions.
      const flags = flagsOf(p);
      const entry = `${dir}/dist/.build/edge/entry.ts`;
      const denoRun = ["run", "--config", `${dir}/dist/.build/deno.json`, ...flags, entry];
      const v = await run([...denoRun, "--version"], { cwd: dir });
      assertEquals(v.code, 0, v.stderr);
      assert(
        /^ferry \S+ \(commit ([0-9a-f]{40}(-dirty)?|unknown), deno [\d.]+, \S+, config sites\/edge\.config\.ts\)$/
          .test(v.stdout.trim()),
        v.stdout,
      );
      const extra = await run([...denoRun, "other.yml"], { cwd: dir });
      assertEquals(extra.code, 2, "a site binary takes no config file");

      agent = new Proc("ferry-edge", DENO, denoRun, { cwd: dir });
      await waitFor(
        "samples at the receiver",
        () => Promise.resolve(rx.output().includes('{__name__="compiled_up"') || undefined),
        30_000,
      );
      // The relative storage path is resolved where it runs.
      assert(Deno.statSync(`${dir}/data`).isDirectory);
      // A reload re-applies the built-in config.
      agent.child.kill("SIGHUP");
      await waitFor(
        "reloaded",
        () => Promise.resolve(agent!.output().includes("config reloaded") || undefined),
        15_000,
      );
      const metrics = await getText(`http://${listen}/metrics`);
      assertEquals(metricValue(metrics, "prometheus_config_last_reload_successful"), 1);
      const st = await agent.stop("SIGTERM");
      assertEquals(st.code, 0, agent.output());
      assert(
        !/PermissionDenied|NotCapable|Requires \w+ access/.test(agent.output()),
        agent.output(),
      );
    } catch (e) {
      throw new Error(`${(e as Error).message}\n--- ferry ---\n${agent?.output().slice(-3000)}`);
    } finally {
      await agent?.stop();
      await rx.stop();
      await target.shutdown();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
