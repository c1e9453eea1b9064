import { assert, assertEquals, assertStringIncludes } from "../testing/assert.ts";
import { resolveConfig } from "../config/resolve.ts";
import { formatPreflight, preflight } from "./preflight.ts";
import { freePort, Proc, ROOT, waitFor } from "../../tests/helpers.ts";

const DENO = Deno.execPath();
const MAIN = `${ROOT}main.ts`;

/** A permission lookup granting everything except `denied` (keys like `net:host:port`). */
function fakeQuery(denied: string[]) {
  const asked: string[] = [];
  const query = (d: Deno.PermissionDescriptor): Deno.PermissionState => {
    const value = d.name === "net"
      ? d.host
      : d.name === "env"
      ? d.variable
      : d.name === "read" || d.name === "write"
      ? String(d.path)
      : undefined;
    const key = value === undefined ? d.name : `${d.name}:${value}`;
    asked.push(key);
    return denied.includes(key) ? "prompt" : "granted";
  };
  return { query, asked };
}

Deno.test("preflight: names each missing permission, why and the flag; FERRY_* env is optional", async () => {
  const config = resolveConfig({
    scrapeConfigs: [{ jobName: "node", staticConfigs: [{ targets: ["10.0.0.1:9100"] }] }],
    remoteWrite: [{ url: "https://rw.example/api/v1/write", name: "central" }],
  });
  const { query } = fakeQuery([
    "net:10.0.0.1:9100",
    "write:/srv/ferry",
    "env:FERRY_SHARD_INDEX",
    "env:FERRY_REPLICA",
  ]);
  const r = await preflight(config, {
    storagePath: "/srv/ferry",
    listenAddress: ":9095",
    query,
  });
  assertEquals(r.missing.map((m) => [m.kind, m.value, m.why, m.flag]), [
    ["net", "10.0.0.1:9100", "target of job node", "--allow-net=10.0.0.1:9100"],
    [
      "write",
      "/srv/ferry",
      "the storage directory, --storage.agent.path",
      "--allow-write=/srv/ferry",
    ],
  ]);
  // `:9095` listens on every interface.
  assert(r.needed.net.includes("0.0.0.0:9095"), String(r.needed.net));
  assert(r.needed.net.includes("rw.example:443"));
  const text = formatPreflight(r, false);
  assertStringIncludes(text, "nothing was started");
  assertStringIncludes(
    text,
    "  - net access to 10.0.0.1:9100 (target of job node): --allow-net=10.0.0.1:9100",
  );
  assertStringIncludes(text, "--allow-net=0.0.0.0:9095,10.0.0.1:9100,rw.example:443");
  assert(!text.includes("fixed when it was built"));
  assertStringIncludes(formatPreflight(r, true), "fixed when it was built");
});

Deno.test("preflight: an unreadable file_sd directory is reported, not read; dynamic targets are notes", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-preflight-" });
  try {
    await Deno.writeTextFile(
      `${dir}/targets.json`,
      JSON.stringify([{ targets: ["127.0.0.9:1234"] }]),
    );
    const config = resolveConfig({
      scrapeConfigs: [
        { jobName: "files", fileSdConfigs: [{ files: [`${dir}/targets.json`] }] },
        { jobName: "http", httpSdConfigs: [{ url: "http://sd.example:8080/targets" }] },
      ],
    });
    const denied = fakeQuery([`read:${dir}`, "net"]);
    const r = await preflight(config, {
      storagePath: `${dir}/data`,
      listenAddress: "",
      query: denied.query,
    });
    assertEquals(r.missing.map((m) => m.flag), [`--allow-read=${dir}`]);
    assertEquals(r.missing[0].why, "file_sd files of job files");
    // Its targets were not listed: the file was not read.
    assert(!r.needed.net.includes("127.0.0.9:1234"));
    assert(r.needed.read.includes(dir));
    assert(r.notes.some((n) => n.includes("http_sd http://sd.example:8080/targets")), r.notes[0]);

    // Readable: its targets are checked too. With unrestricted net, no note on dynamic targets.
    const all = fakeQuery(["net:127.0.0.9:1234"]);
    const r2 = await preflight(config, {
      storagePath: `${dir}/data`,
      listenAddress: "",
      query: all.query,
    });
    assertEquals(r2.missing.map((m) => m.why), ["target of job files"]);
    assertEquals(r2.notes, []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name:
    "preflight: run under too narrow flags exits 1 before starting, naming the flag; the derived flags suffice",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "ferry-preflight-run-" });
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      () => new Response("preflight_up 1\n"),
    );
    const webPort = freePort();
    const listen = `127.0.0.1:${webPort}`;
    const target = `127.0.0.1:${server.addr.port}`;
    const cfg = `${dir}/agent.config.ts`;
    await Deno.writeTextFile(
      cfg,
      `export default {
  global: { scrapeInterval: "1s", scrapeTimeout: "1s" },
  scrapeConfigs: [{ jobName: "t", staticConfigs: [{ targets: ["${target}"] }] }],
};
`,
    );
    const storage = `${dir}/data`;
    const agentArgs = [
      MAIN,
      cfg,
      `--storage.agent.path=${storage}`,
      `--web.listen-address=${listen}`,
    ];
    let agent: Proc | undefined;
    try {
      // Everything but the target.
      const narrow = [
        "run",
        "--no-prompt",
        `--allow-net=${listen}`,
        `--allow-read=${dir},${ROOT}`,
        `--allow-write=${storage}`,
      ];
      const out = await new Deno.Command(DENO, {
        args: [...narrow, ...agentArgs],
        cwd: dir,
        env: { NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stderr = new TextDecoder().decode(out.stderr);
      assertEquals(out.code, 1, stderr);
      assertStringIncludes(
        stderr,
        `net access to ${target} (target of job t): --allow-net=${target}`,
      );
      // Nothing was started: no storage directory, no listener.
      assert(!exists(storage), "the storage directory was created");
      assert(!stderr.includes("agent started"), stderr);

      // The flags `permissions` derives are enough.
      const p = await new Deno.Command(DENO, {
        args: ["run", "--allow-read", MAIN, "permissions", ...agentArgs.slice(1)],
        cwd: dir,
        stdout: "piped",
        stderr: "piped",
      }).output();
      assertEquals(p.code, 0, new TextDecoder().decode(p.stderr));
      const flags = new TextDecoder().decode(p.stdout).split("\n")[0].split(" ");
      agent = new Proc("ferry", DENO, ["run", "--no-prompt", ...flags, ...agentArgs], {
        cwd: dir,
      });
      await waitFor("the target scraped", async () => {
        const res = await fetch(`http://${listen}/api/v1/targets`);
        const body = await res.json();
        return body.data.activeTargets[0]?.health === "up" ? true : undefined;
      }, 30_000);
      const st = await agent.stop("SIGTERM");
      assertEquals(st.code, 0, agent.output());
      assert(!agent.output().includes("lacks permissions"), agent.output());
    } catch (e) {
      throw new Error(`${(e as Error).message}\n--- ferry ---\n${agent?.output().slice(-3000)}`);
    } finally {
      await agent?.stop();
      await server.shutdown();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

Deno.test({
  name:
    "preflight: a target discovered after start without net access fails its scrape naming the flag; the others go on",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "ferry-preflight-late-" });
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      () => new Response("late_up 1\n"),
    );
    const granted = `127.0.0.1:${server.addr.port}`;
    const other = `127.0.0.1:${freePort()}`;
    const listen = `127.0.0.1:${freePort()}`;
    const sd = `${dir}/sd/targets.json`;
    await Deno.mkdir(`${dir}/sd`);
    await Deno.writeTextFile(sd, JSON.stringify([{ targets: [granted] }]));
    const cfg = `${dir}/agent.config.ts`;
    await Deno.writeTextFile(
      cfg,
      `export default {
  global: { scrapeInterval: "1s", scrapeTimeout: "1s" },
  scrapeConfigs: [{ jobName: "late", fileSdConfigs: [{ files: ["sd/targets.json"], refreshInterval: "1s" }] }],
};
`,
    );
    const storage = `${dir}/data`;
    const agent = new Proc("ferry", DENO, [
      "run",
      "--no-prompt",
      `--allow-net=${listen},${granted}`,
      `--allow-read=${dir},${ROOT}`,
      `--allow-write=${storage}`,
      MAIN,
      cfg,
      `--storage.agent.path=${storage}`,
      `--web.listen-address=${listen}`,
    ], { cwd: dir });
    type T = { scrapeUrl: string; health: string; lastError: string };
    const targets = async (): Promise<T[]> => {
      const res = await fetch(`http://${listen}/api/v1/targets`);
      return (await res.json()).data.activeTargets;
    };
    try {
      await waitFor("the granted target up", async () => {
        try {
          return (await targets())[0]?.health === "up" ? true : undefined;
        } catch {
          return undefined;
        }
      }, 30_000);
      await Deno.writeTextFile(sd, JSON.stringify([{ targets: [granted, other] }]));
      const late = await waitFor("the new target scraped", async () => {
        const t = (await targets()).find((t) => t.scrapeUrl.includes(other));
        return t && t.health === "down" ? t : undefined;
      }, 30_000);
      assertStringIncludes(late.lastError, `grant it with --allow-net=${other}`);
      const first = (await targets()).find((t) => t.scrapeUrl.includes(granted))!;
      assertEquals(first.health, "up");
      const st = await agent.stop("SIGTERM");
      assertEquals(st.code, 0, agent.output());
    } catch (e) {
      throw new Error(`${(e as Error).message}\n--- ferry ---\n${agent.output().slice(-3000)}`);
    } finally {
      await agent.stop();
      await server.shutdown();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
