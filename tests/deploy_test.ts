/**
 * The deployment files in deploy/: the Kubernetes manifests parse and have
 * the kinds, selectors, probes and security settings they need; every flag
 * and FERRY_* variable they give ferry is one ferry accepts; the ConfigMaps'
 * prometheus.yml pass `main.ts check config`; the systemd unit passes
 * `systemd-analyze verify` (where installed) and keeps its sandboxing; the
 * Containerfile's images are pinned.
 */

import { parseAllDocuments, parseDocument, stringify } from "yaml";
import { MALLOC_ENV } from "../src/cli/malloc_env.ts";
import { assert, assertEquals, assertStringIncludes } from "../src/testing/assert.ts";
import { parseDuration } from "../src/model/duration.ts";
import { ROOT, skipLoudly } from "./helpers.ts";

const DEPLOY = `${ROOT}deploy`;
const K8S = `${DEPLOY}/kubernetes`;
/** The environment variables ferry reads (issue 10's shared decisions); a binary may read no others. */
const FERRY_ENV = new Set(["FERRY_SHARD_INDEX", "FERRY_SHARD_TOTAL", "FERRY_REPLICA"]);
/** The default of --storage.remote.flush-deadline. */
const DEFAULT_FLUSH_DEADLINE_MS = 60_000;

// deno-lint-ignore no-explicit-any
type Obj = Record<string, any>;

async function ferry(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}main.ts`, ...args],
    cwd: ROOT,
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** The flag names a `--help` output lists. */
function helpFlags(help: string): Set<string> {
  return new Set([...help.matchAll(/^\s+--([a-z][a-z0-9.-]*)/gm)].map((m) => m[1]));
}

let runFlags: Promise<Set<string>> | undefined;
/** The flags of `main.ts run`. */
function ferryRunFlags(): Promise<Set<string>> {
  runFlags ??= ferry(["run", "--help"]).then((r) => {
    assertEquals(r.code, 0, r.stderr);
    // `run --help` prints to stderr.
    const flags = helpFlags(r.stdout + r.stderr);
    assert(flags.has("config.file") && flags.has("web.listen-address"), r.stdout + r.stderr);
    return flags;
  });
  return runFlags;
}

/** Asserts every `--flag` in `args` is one of `known`. */
function assertKnownFlags(args: string[], known: Set<string>, where: string): void {
  for (const a of args) {
    if (!a.startsWith("--")) continue;
    const name = a.slice(2).split("=")[0];
    assert(known.has(name), `${where}: ferry has no flag --${name}`);
  }
}

/** The value of `--name=value` in `args`. */
function flagValue(args: string[], name: string): string | undefined {
  const prefix = `--${name}=`;
  return args.find((a) => a.startsWith(prefix))?.slice(prefix.length);
}

function flushDeadlineMs(args: string[]): number {
  const v = flagValue(args, "storage.remote.flush-deadline");
  return v === undefined ? DEFAULT_FLUSH_DEADLINE_MS : parseDuration(v);
}

/** Every document of a manifest, as plain data; parse errors fail. */
async function manifest(name: string): Promise<Obj[]> {
  const text = await Deno.readTextFile(`${K8S}/${name}`);
  const docs = parseAllDocuments(text);
  assert(Array.isArray(docs), `${name}: not a YAML stream`);
  for (const d of docs) {
    assertEquals(d.errors.map((e) => e.message), [], `${name}: YAML errors`);
    assertEquals(d.warnings.map((e) => e.message), [], `${name}: YAML warnings`);
  }
  const out = docs.map((d) => d.toJS() as Obj).filter((d) => d !== null);
  for (const d of out) {
    assert(typeof d.apiVersion === "string", `${name}: a document without apiVersion`);
    assert(typeof d.kind === "string", `${name}: a document without kind`);
    assert(typeof d.metadata?.name === "string", `${name}: ${d.kind} without metadata.name`);
  }
  return out;
}

function one(docs: Obj[], kind: string): Obj {
  const found = docs.filter((d) => d.kind === kind);
  assertEquals(found.length, 1, `one ${kind}`);
  return found[0];
}

function isSubset(sub: Record<string, string>, of: Record<string, string>): boolean {
  return Object.entries(sub).every(([k, v]) => of?.[k] === v);
}

/** Restricted Pod Security Standard, resources and pinned images of a workload's pod template. */
function assertPodSecurity(workload: Obj, docs: Obj[]): void {
  const what = `${workload.kind} ${workload.metadata.name}`;
  const pod = workload.spec.template.spec;
  assert(
    isSubset(workload.spec.selector.matchLabels, workload.spec.template.metadata.labels),
    `${what}: selector does not match the pod labels`,
  );
  const sa = docs.find((d) =>
    d.kind === "ServiceAccount" && d.metadata.name === pod.serviceAccountName
  );
  assert(sa, `${what}: its ServiceAccount ${pod.serviceAccountName} is not in the file`);
  assertEquals(pod.automountServiceAccountToken, false, `${what}: no API token needed`);
  for (const k of ["hostNetwork", "hostPID", "hostIPC"]) {
    assert(!pod[k], `${what}: ${k} breaks the restricted Pod Security Standard`);
  }
  for (const v of pod.volumes ?? []) assert(!v.hostPath, `${what}: hostPath volume ${v.name}`);
  assertEquals(pod.securityContext.runAsNonRoot, true, `${what}: pod runAsNonRoot`);
  assert(pod.securityContext.runAsUser > 0, `${what}: a non-root UID`);
  assertEquals(pod.securityContext.seccompProfile?.type, "RuntimeDefault", `${what}: seccomp`);
  for (const c of [...(pod.initContainers ?? []), ...pod.containers]) {
    const at = `${what} container ${c.name}`;
    const sc = c.securityContext ?? {};
    assertEquals(sc.runAsNonRoot ?? pod.securityContext.runAsNonRoot, true, `${at}: runAsNonRoot`);
    assertEquals(sc.allowPrivilegeEscalation, false, `${at}: allowPrivilegeEscalation`);
    assertEquals(sc.readOnlyRootFilesystem, true, `${at}: readOnlyRootFilesystem`);
    assert(sc.capabilities?.drop?.includes("ALL"), `${at}: capabilities.drop ALL`);
    assert(!sc.capabilities?.add?.length, `${at}: no added capabilities`);
    assert(c.resources?.requests?.cpu && c.resources?.requests?.memory, `${at}: requests`);
    assert(c.resources?.limits?.memory, `${at}: a memory limit`);
    const tag = /^[^@]+:([^:/@]+)$/.exec(c.image)?.[1];
    assert(tag !== undefined && tag !== "latest" && /\d/.test(tag), `${at}: ${c.image} unpinned`);
    for (const m of c.volumeMounts ?? []) {
      const declared = (pod.volumes ?? []).some((v: Obj) => v.name === m.name) ||
        (workload.spec.volumeClaimTemplates ?? []).some((t: Obj) => t.metadata.name === m.name);
      assert(declared, `${at}: volume ${m.name} is not declared`);
    }
  }
  for (const v of pod.volumes ?? []) {
    if (!v.configMap) continue;
    assert(
      docs.some((d) => d.kind === "ConfigMap" && d.metadata.name === v.configMap.name),
      `${what}: ConfigMap ${v.configMap.name} is not in the file`,
    );
  }
}

/** The ferry container: flags, env, port, probes, WAL mount, grace period. */
async function assertFerryContainer(workload: Obj): Promise<Obj> {
  const what = `${workload.kind} ${workload.metadata.name}`;
  const pod = workload.spec.template.spec;
  const c = pod.containers.find((x: Obj) => x.name === "ferry");
  assert(c, `${what}: no container named ferry`);
  assertKnownFlags(c.args, await ferryRunFlags(), what);
  assertEquals(flagValue(c.args, "web.listen-address"), "0.0.0.0:9095", what);
  assertEquals(flagValue(c.args, "storage.agent.path"), "/var/lib/ferry", what);
  assertEquals(flagValue(c.args, "config.file"), "/etc/ferry/prometheus.yml", what);
  assert(
    c.volumeMounts.some((m: Obj) => m.mountPath === "/etc/ferry" && m.readOnly),
    `${what}: the config is mounted read-only at /etc/ferry`,
  );
  for (const e of c.env ?? []) {
    assert(FERRY_ENV.has(e.name), `${what}: ferry does not read the variable ${e.name}`);
  }
  const port = c.ports.find((p: Obj) => p.containerPort === 9095);
  assert(port, `${what}: containerPort 9095`);
  const probe = (kind: string, path: string) => {
    const p = c[kind];
    assert(p?.httpGet, `${what}: ${kind}`);
    assertEquals(p.httpGet.path, path, `${what}: ${kind} path`);
    assert(p.httpGet.port === port.name || p.httpGet.port === 9095, `${what}: ${kind} port`);
  };
  probe("livenessProbe", "/-/healthy");
  probe("readinessProbe", "/-/ready");
  probe("startupProbe", "/-/healthy");
  assert(
    c.volumeMounts.some((m: Obj) => m.mountPath === "/var/lib/ferry" && !m.readOnly),
    `${what}: a writable WAL volume at /var/lib/ferry`,
  );
  assert(
    pod.terminationGracePeriodSeconds * 1000 > flushDeadlineMs(c.args),
    `${what}: terminationGracePeriodSeconds must exceed the flush deadline`,
  );
  return c;
}

/** Runs `main.ts check config --json` on prometheus.yml texts; asserts all are valid. */
async function assertValidConfigs(configs: Record<string, string>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "ferry-deploy-test-" });
  try {
    const files = [];
    for (const [name, text] of Object.entries(configs)) {
      await Deno.writeTextFile(`${dir}/${name}.yml`, text);
      files.push(`${dir}/${name}.yml`);
    }
    const r = await ferry(["check", "config", "--json", ...files]);
    const results = JSON.parse(r.stdout) as { file: string; ok: boolean; errors: unknown[] }[];
    for (const res of results) assert(res.ok, `${res.file}: ${JSON.stringify(res.errors)}`);
    assertEquals(results.length, files.length);
    assertEquals(r.code, 0, r.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("deploy/kubernetes: every manifest parses, with the expected kinds", async () => {
  const kinds = async (f: string) => (await manifest(f)).map((d) => d.kind);
  assertEquals(await kinds("namespace.yaml"), ["Namespace"]);
  assertEquals(await kinds("daemonset.yaml"), ["ServiceAccount", "ConfigMap", "DaemonSet"]);
  assertEquals(await kinds("statefulset.yaml"), [
    "ServiceAccount",
    "ConfigMap",
    "Service",
    "StatefulSet",
    "PodDisruptionBudget",
  ]);
  const ns = one(await manifest("namespace.yaml"), "Namespace");
  assertEquals(ns.metadata.labels["pod-security.kubernetes.io/enforce"], "restricted");
  for (const f of ["daemonset.yaml", "statefulset.yaml"]) {
    for (const d of await manifest(f)) {
      assertEquals(d.metadata.namespace, ns.metadata.name, `${f}: ${d.kind} namespace`);
    }
  }
  const entries = [...Deno.readDirSync(K8S)].map((e) => e.name).sort();
  assertEquals(entries, ["daemonset.yaml", "namespace.yaml", "statefulset.yaml"], "all tested");
});

Deno.test("deploy/kubernetes/daemonset.yaml: one agent per node", async (t) => {
  const docs = await manifest("daemonset.yaml");
  const ds = one(docs, "DaemonSet");
  const pod = ds.spec.template.spec;
  await t.step("pod security, resources, pinned images", () => assertPodSecurity(ds, docs));
  await t.step("the ferry container", async () => {
    await assertFerryContainer(ds);
  });
  await t.step("the WAL is an emptyDir with a size limit above ferry's disk cap", () => {
    const wal = pod.volumes.find((v: Obj) => v.name === "wal");
    assert(wal?.emptyDir?.sizeLimit, "wal: emptyDir with sizeLimit");
    const gi = Number(/^(\d+)Gi$/.exec(wal.emptyDir.sizeLimit)?.[1]);
    const args = pod.containers.find((c: Obj) => c.name === "ferry").args;
    const cap = /^(\d+)MB$/.exec(flagValue(args, "storage.agent.max-disk-bytes") ?? "")?.[1];
    assert(cap !== undefined && Number(cap) * 2 ** 20 < gi * 2 ** 30, "cap below sizeLimit");
  });
  const init = pod.initContainers.find((c: Obj) => c.name === "render-config");
  const env = Object.fromEntries(init.env.map((e: Obj) => [e.name, e]));
  await t.step("NODE_IP and NODE_NAME from the downward API", () => {
    assertEquals(env.NODE_IP.valueFrom.fieldRef.fieldPath, "status.hostIP");
    assertEquals(env.NODE_NAME.valueFrom.fieldRef.fieldPath, "spec.nodeName");
    const mounts = Object.fromEntries(init.volumeMounts.map((m: Obj) => [m.mountPath, m.name]));
    const ferryMounts = pod.containers[0].volumeMounts;
    assertEquals(mounts["/etc/ferry-template"], "config-template");
    assertEquals(
      mounts["/etc/ferry"],
      ferryMounts.find((m: Obj) => m.mountPath === "/etc/ferry").name,
      "renders into the volume ferry reads",
    );
    assert(
      env.OUTPUT.value.startsWith("/etc/ferry/") &&
        env.TEMPLATE.value.startsWith("/etc/ferry-template/"),
    );
  });
  await t.step("the init script renders the template; the results pass check config", async () => {
    const template = one(docs, "ConfigMap").data["prometheus.yml"];
    const dir = await Deno.makeTempDir({ prefix: "ferry-deploy-render-" });
    try {
      await Deno.writeTextFile(`${dir}/template.yml`, template);
      const render = async (ip: string) => {
        const out = await new Deno.Command(init.command[0], {
          args: [...init.command.slice(1), ...init.args],
          env: {
            NODE_IP: ip,
            NODE_NAME: "node-a",
            TEMPLATE: `${dir}/template.yml`,
            OUTPUT: `${dir}/out.yml`,
          },
          clearEnv: true,
          stderr: "piped",
        }).output();
        assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
        return await Deno.readTextFile(`${dir}/out.yml`);
      };
      const v4 = await render("10.1.2.3");
      const v6 = await render("fd00::7");
      for (const [text, target] of [[v4, "10.1.2.3:9100"], [v6, "[fd00::7]:9100"]]) {
        const cfg = parseDocument(text).toJS();
        const node = cfg.scrape_configs.find((j: Obj) => j.job_name === "node");
        assertEquals(node.static_configs[0].targets, [target]);
        assertEquals(node.static_configs[0].labels, { node: "node-a" });
        assert(!text.includes("__NODE_"), "every placeholder replaced");
      }
      await assertValidConfigs({ template, v4, v6 });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});

Deno.test("deploy/kubernetes/statefulset.yaml: shards", async (t) => {
  const docs = await manifest("statefulset.yaml");
  const sts = one(docs, "StatefulSet");
  const labels = sts.spec.template.metadata.labels;
  await t.step("pod security, resources, pinned images", () => assertPodSecurity(sts, docs));
  const c = await assertFerryContainer(sts);
  const env = Object.fromEntries(c.env.map((e: Obj) => [e.name, e]));
  await t.step("FERRY_SHARD_INDEX is the pod name, FERRY_SHARD_TOTAL the replicas", () => {
    assertEquals(sts.spec.replicas, 3);
    assertEquals(env.FERRY_SHARD_INDEX.valueFrom.fieldRef.fieldPath, "metadata.name");
    assertEquals(env.FERRY_SHARD_TOTAL.value, String(sts.spec.replicas));
  });
  await t.step("the WAL is a volumeClaimTemplate", () => {
    const walMount = c.volumeMounts.find((m: Obj) => m.mountPath === "/var/lib/ferry");
    const claim = sts.spec.volumeClaimTemplates.find((v: Obj) => v.metadata.name === walMount.name);
    assert(claim?.spec?.resources?.requests?.storage, "a claim with a size");
    assert(!sts.spec.template.spec.volumes.some((v: Obj) => v.name === walMount.name));
  });
  await t.step("a headless Service as serviceName, and a PodDisruptionBudget", () => {
    const svc = one(docs, "Service");
    assertEquals(sts.spec.serviceName, svc.metadata.name);
    assertEquals(svc.spec.clusterIP, "None");
    assert(isSubset(svc.spec.selector, labels), "the Service selects the shards");
    const pdb = one(docs, "PodDisruptionBudget");
    assertEquals(pdb.apiVersion, "policy/v1");
    assert(isSubset(pdb.spec.selector.matchLabels, labels), "the PDB selects the shards");
    assert(pdb.spec.maxUnavailable !== undefined || pdb.spec.minAvailable !== undefined);
  });
  const config = one(docs, "ConfigMap").data["prometheus.yml"];
  await t.step("the ConfigMap's prometheus.yml passes check config", async () => {
    await assertValidConfigs({ shards: config });
  });
  await t.step("each pod name is a shard: every target scraped by exactly one shard", async () => {
    // Only the static job: no DNS lookups in tests.
    const cfg = parseDocument(config).toJS();
    cfg.scrape_configs = cfg.scrape_configs.filter((j: Obj) => j.static_configs);
    const targets: string[] = cfg.scrape_configs.flatMap((j: Obj) =>
      j.static_configs.flatMap((s: Obj) => s.targets)
    );
    assert(targets.length >= 3, "the shards' own targets");
    const dir = await Deno.makeTempDir({ prefix: "ferry-deploy-shards-" });
    try {
      await Deno.writeTextFile(`${dir}/static.yml`, stringify(cfg));
      const scraped: string[] = [];
      for (let i = 0; i < sts.spec.replicas; i++) {
        const r = await ferry(["check", "targets", "--json", `${dir}/static.yml`], {
          FERRY_SHARD_INDEX: `${sts.metadata.name}-${i}`,
          FERRY_SHARD_TOTAL: env.FERRY_SHARD_TOTAL.value,
        });
        assertEquals(r.code, 0, r.stderr);
        const data = JSON.parse(r.stdout);
        const active = (data.data ?? data).activeTargets.map((x: Obj) =>
          x.discoveredLabels.__address__
        );
        assert(active.length < targets.length, `shard ${i} must not scrape everything`);
        scraped.push(...active);
      }
      assertEquals(scraped.sort(), [...targets].sort());
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});

/** A systemd unit as `Section.Key` → values (a key may repeat). */
function parseUnit(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let section = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const s = /^\[(.+)\]$/.exec(line);
    if (s) {
      section = s[1];
      continue;
    }
    const i = line.indexOf("=");
    assert(i > 0, `not a key=value line: ${line}`);
    const key = `${section}.${line.slice(0, i).trim()}`;
    out.set(key, [...(out.get(key) ?? []), line.slice(i + 1).trim()]);
  }
  return out;
}

/** `KEY=value` lines of an environment file, commented-out ones included (as examples). */
function parseEnvFile(text: string): { name: string; value: string; active: boolean }[] {
  return [...text.matchAll(/^(#?)([A-Z_][A-Z0-9_]*)=(.*)$/gm)].map((m) => ({
    name: m[2],
    value: m[3],
    active: m[1] === "",
  }));
}

function systemdSeconds(v: string): number {
  const m = /^(\d+)(s|min|m)?$/.exec(v);
  assert(m, `a duration systemd-style: ${v}`);
  return Number(m[1]) * (m[2] === "min" || m[2] === "m" ? 60 : 1);
}

Deno.test("deploy/systemd: ferry.service and ferry.env", async (t) => {
  const unitText = await Deno.readTextFile(`${DEPLOY}/systemd/ferry.service`);
  const unit = parseUnit(unitText);
  const get = (k: string) => {
    const v = unit.get(k);
    assert(v !== undefined, `ferry.service sets ${k}`);
    return v[v.length - 1];
  };
  const envFile = parseEnvFile(await Deno.readTextFile(`${DEPLOY}/systemd/ferry.env`));
  const opts = envFile.find((e) => e.name === "FERRY_OPTS" && e.active)?.value.split(/\s+/) ?? [];
  const exec = get("Service.ExecStart").split(/\s+/);

  await t.step("the compiled binary, with flags ferry accepts", async () => {
    assertEquals(exec[0], "/usr/local/bin/ferry");
    assertKnownFlags(exec.slice(1), await ferryRunFlags(), "ExecStart");
    assertKnownFlags(opts, await ferryRunFlags(), "ferry.env FERRY_OPTS");
    assert(exec.includes("$FERRY_OPTS"), "ExecStart passes $FERRY_OPTS");
    assertEquals(flagValue(exec, "storage.agent.path"), "/var/lib/ferry");
    assertStringIncludes(get("Service.EnvironmentFile"), "/etc/ferry/ferry.env");
    for (const e of envFile) {
      const known = e.name === "FERRY_OPTS" || FERRY_ENV.has(e.name) ||
        (Object.hasOwn(MALLOC_ENV, e.name) && e.value === MALLOC_ENV[e.name]);
      assert(known, `ferry.env: ${e.name}=${e.value} is unknown`);
    }
  });
  await t.step("state directory, user, reload, restart and stop", () => {
    assertEquals(get("Service.StateDirectory"), "ferry");
    assert(get("Service.DynamicUser") === "yes" || unit.has("Service.User"), "not root");
    assertStringIncludes(get("Service.ExecReload"), "-HUP $MAINPID");
    assertEquals(get("Service.Restart"), "on-failure");
    assertEquals(get("Service.KillSignal"), "SIGTERM");
    const stop = systemdSeconds(get("Service.TimeoutStopSec")) * 1000;
    assert(stop > flushDeadlineMs([...exec, ...opts]), "TimeoutStopSec > the flush deadline");
    assert(stop > DEFAULT_FLUSH_DEADLINE_MS, "TimeoutStopSec > the default flush deadline");
  });
  await t.step("sandboxing", () => {
    assertEquals(get("Service.ProtectSystem"), "strict");
    assertEquals(get("Service.ProtectHome"), "yes");
    assertEquals(get("Service.PrivateTmp"), "yes");
    assertEquals(get("Service.NoNewPrivileges"), "yes");
    assertEquals(get("Service.CapabilityBoundingSet"), "");
    const families = get("Service.RestrictAddressFamilies").split(/\s+/);
    assertEquals(families.sort(), ["AF_INET", "AF_INET6", "AF_UNIX"]);
    const filter = unit.get("Service.SystemCallFilter")!.join(" ").split(/\s+/);
    assert(filter.includes("@system-service") && filter.includes("@pkey"), "syscall filter");
    // V8 maps its JIT code writable and executable: MemoryDenyWriteExecute=yes stops ferry.
    assert(!unit.has("Service.MemoryDenyWriteExecute"), "MemoryDenyWriteExecute must not be set");
  });
  await t.step("systemd-analyze verify", async () => {
    const analyze = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"].find((p) => {
      try {
        return Deno.statSync(p).isFile;
      } catch {
        return false;
      }
    });
    if (analyze === undefined) {
      skipLoudly(
        "systemd-analyze verify of deploy/systemd/ferry.service",
        "systemd is not installed",
      );
      return;
    }
    const dir = await Deno.makeTempDir({ prefix: "ferry-unit-" });
    try {
      // verify checks that ExecStart's binary exists: a stand-in for /usr/local/bin/ferry.
      await Deno.writeTextFile(`${dir}/ferry`, "#!/bin/sh\nexit 0\n", { mode: 0o755 });
      await Deno.writeTextFile(
        `${dir}/ferry.service`,
        unitText.replace("ExecStart=/usr/local/bin/ferry ", `ExecStart=${dir}/ferry `),
      );
      const out = await new Deno.Command(analyze, {
        args: ["verify", `${dir}/ferry.service`],
        env: { SYSTEMD_LOG_COLOR: "0" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
      assertEquals(out.code, 0, text);
      assertEquals(text.trim(), "", "no warnings");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});

Deno.test("deploy/container/Containerfile: pinned images, non-root, the binary", async () => {
  const text = await Deno.readTextFile(`${DEPLOY}/container/Containerfile`);
  // Instructions, with continuation lines joined.
  const lines = text.replace(/\\\n/g, " ").split("\n").map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
  const from = lines.filter((l) => /^FROM\s/i.test(l)).map((l) => l.split(/\s+/)[1]);
  assertEquals(from.length, 2, "multi-stage: build and runtime");
  for (const image of from) {
    const tag = /^[^@]+:([^:/@]+)$/.exec(image)?.[1];
    assert(
      tag !== undefined && tag !== "latest" && /\d/.test(tag),
      `${image} is not pinned by tag`,
    );
  }
  // The build image is the Deno version CI uses.
  const ciDeno = /deno@(\d+\.\d+\.\d+)/.exec(await Deno.readTextFile(`${ROOT}.ci/run`))?.[1];
  assertEquals(from[0], `docker.io/denoland/deno:${ciDeno}`);

  const compile = lines.find((l) => l.startsWith("RUN deno task compile"));
  assert(compile, "builds with deno task compile");
  const compileArgs = compile.split("&&")[0].trim().split(/\s+/).slice(4);
  const help = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}tools/compile.ts`, "--help"],
    stdout: "piped",
  }).output();
  assertKnownFlags(compileArgs, helpFlags(new TextDecoder().decode(help.stdout)), "compile");
  assertEquals(flagValue(compileArgs, "storage.agent.path"), "/var/lib/ferry");

  const user = lines.filter((l) => l.startsWith("USER "));
  assertEquals(user.length, 1);
  assert(/^USER [1-9]\d*(:\d+)?$/.test(user[0]), `a numeric non-root user: ${user[0]}`);
  assert(lines.includes('VOLUME ["/var/lib/ferry"]'), "the WAL volume");
  assert(lines.includes("EXPOSE 9095"));
  assert(lines.includes('ENTRYPOINT ["/usr/local/bin/ferry"]'));
  const cmd = lines.find((l) => l.startsWith("CMD "));
  assert(cmd);
  assertKnownFlags(JSON.parse(cmd.slice(4)), await ferryRunFlags(), "CMD");
});
