/**
 * Scrapes over real HTTP on 127.0.0.1 (Deno.serve, `openssl s_server`):
 * gzip with and without `enable_compression` (Deno's fetch decodes on its
 * own only when gzip was accepted), bodies past `body_size_limit` abandoned
 * mid-stream (gzip bombs included), Content-Type handling, `tls_config` with a
 * CA and client certificate generated here with openssl (skipped, loudly, when
 * openssl is missing), `proxy_url` with credentials, and `credentials_file`
 * read at each scrape through the pool.
 */

import type { ResolvedScrapeConfig } from "../config/types.ts";
import { loadYamlConfig } from "../config/prometheus.ts";
import { Registry } from "../metrics/registry.ts";
import { Labels } from "../model/labels.ts";
import { compileRules } from "../relabel/relabel.ts";
import { assert, assertEquals } from "../testing/assert.ts";
import { realClock } from "../util/clock.ts";
import { authHeaders } from "../util/httpauth.ts";
import { ScrapeHttpClient } from "./http.ts";
import { ScrapeLoop } from "./loop.ts";
import { ScrapePool } from "./pool.ts";
import { RecordingDb, scrapeConfig } from "./testutil.ts";

/** Starts a server on 127.0.0.1; `close` shuts it down. */
function serve(handler: (req: Request) => Response | Promise<Response>) {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, handler);
  return { url: `http://127.0.0.1:${server.addr.port}`, port: server.addr.port, server };
}

/** One scrape of `url` with real fetch; returns `up`, the samples and the loop's last error. */
async function scrape(url: string, over: Partial<ResolvedScrapeConfig> = {}) {
  const cfg = scrapeConfig({ scrapeTimeoutMs: 5_000, ...over });
  const db = new RecordingDb();
  const client = new ScrapeHttpClient(cfg);
  const loop = new ScrapeLoop({
    labels: Labels.fromObject({ job: "node", instance: "t" }),
    discoveredLabels: Labels.fromObject({}),
    scrapeUrl: url,
    intervalMs: 15_000,
    timeoutMs: cfg.scrapeTimeoutMs,
  }, {
    config: cfg,
    appendable: db,
    metricRules: compileRules([]),
    clock: realClock,
    offsetSeed: 0,
    headers: authHeaders(cfg),
    httpClient: client.needed ? () => client.get() : undefined,
  });
  try {
    await loop.scrapeOnce(Date.now());
  } finally {
    client.close();
  }
  const got = db.last();
  const value = (name: string) => got.get(`{__name__="${name}", instance="t", job="node"}`);
  return { up: value("up"), value, error: loop.status().lastError };
}

async function gzip(data: string | Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
  const s = new Blob([data]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(s).arrayBuffer());
}

Deno.test("gzip: decoded exactly once with and without enable_compression", async (t) => {
  const body = "a 1\nb 2\n".repeat(100);
  const gz = await gzip(body);
  const seen: string[] = [];
  // Gzips whatever the request accepted, as some exporters do.
  const { url, server } = serve((req) => {
    seen.push(req.headers.get("accept-encoding") ?? "");
    return new Response(gz, {
      headers: { "Content-Type": "text/plain; version=0.0.4", "Content-Encoding": "gzip" },
    });
  });
  try {
    for (const enableCompression of [true, false]) {
      await t.step(`enable_compression ${enableCompression}`, async () => {
        const r = await scrape(url, { enableCompression });
        assertEquals([r.up, r.value("a"), r.value("b"), r.error], [1, 1, 2, ""]);
        assertEquals(seen.at(-1), enableCompression ? "gzip" : "identity");
      });
    }
  } finally {
    await server.shutdown();
  }
});

Deno.test("body_size_limit: a huge body is abandoned mid-stream; gzip counts decoded bytes", async (t) => {
  let sent = 0;
  let cancelled = 0;
  const zeros = new TextEncoder().encode("# " + "x".repeat(65_530) + "\n");
  const bomb = await gzip(
    new TextEncoder().encode(("# " + "0".repeat(1000) + "\n").repeat(10_000)),
  );
  const { url, server } = serve((req) => {
    if (new URL(req.url).pathname === "/bomb") {
      return new Response(bomb, {
        headers: { "Content-Type": "text/plain", "Content-Encoding": "gzip" },
      });
    }
    // An endless body: 64 KiB comment lines until the client goes away.
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        sent += zeros.length;
        c.enqueue(zeros);
      },
      cancel() {
        cancelled++;
      },
    });
    return new Response(body, { headers: { "Content-Type": "text/plain" } });
  });
  try {
    await t.step("endless body", async () => {
      const r = await scrape(url + "/endless", { bodySizeLimit: 1024 * 1024 });
      assertEquals(r.up, 0);
      assertEquals(r.error, "body size limit exceeded (limit 1048576 bytes)");
      for (let i = 0; i < 100 && cancelled === 0; i++) await new Promise((r) => setTimeout(r, 10));
      assertEquals(cancelled, 1, "the server saw the client go away");
      assert(sent < 64 * 1024 * 1024, `sent ${sent} bytes`);
    });
    await t.step("10 MB gzip bomb of ~10 KB", async () => {
      assert(bomb.length < 100_000, String(bomb.length));
      const r = await scrape(url + "/bomb", { bodySizeLimit: 1024 * 1024 });
      assertEquals([r.up, r.error], [0, "body size limit exceeded (limit 1048576 bytes)"]);
      const ok = await scrape(url + "/bomb", { bodySizeLimit: 64 * 1024 * 1024 });
      assertEquals([ok.up, ok.error], [1, ""]);
    });
  } finally {
    await server.shutdown();
  }
});

Deno.test("Content-Type over HTTP: missing or wrong fails, fallback rescues, only 200 counts", async (t) => {
  const { url, server } = serve((req) => {
    const p = new URL(req.url).pathname;
    const body = new TextEncoder().encode("a 1\n"); // bytes: no Content-Type of their own
    if (p === "/none") return new Response(body);
    if (p === "/json") {
      return new Response(body, { headers: { "Content-Type": "application/json" } });
    }
    if (p === "/201") {
      return new Response(body, { status: 201, headers: { "Content-Type": "text/plain" } });
    }
    return new Response(body, { headers: { "Content-Type": "text/plain; charset=utf-8" } });
  });
  try {
    const table: [string, Partial<ResolvedScrapeConfig>, number, string][] = [
      ["/ok", {}, 1, ""],
      ["/none", {}, 0, "blank Content-Type"],
      ["/none", { fallbackScrapeProtocol: "PrometheusText0.0.4" }, 1, ""],
      ["/json", {}, 0, 'unsupported Content-Type "application/json"'],
      ["/json", { fallbackScrapeProtocol: "PrometheusText1.0.0" }, 1, ""],
      ["/201", {}, 0, "server returned HTTP status 201 Created"],
    ];
    for (const [path, over, up, err] of table) {
      await t.step(`${path} ${JSON.stringify(over)}`, async () => {
        const r = await scrape(url + path, over);
        assertEquals(r.up, up);
        assert(err === "" ? r.error === "" : r.error.includes(err), r.error);
      });
    }
  } finally {
    await server.shutdown();
  }
});

Deno.test("proxy_url: scrapes go through the proxy, with its credentials", async () => {
  const { url: targetUrl, server: target } = serve(() =>
    new Response("a 1\n", { headers: { "Content-Type": "text/plain" } })
  );
  const via: { url: string; auth: string | null }[] = [];
  const { port, server: proxy } = serve(async (req) => {
    via.push({ url: req.url, auth: req.headers.get("proxy-authorization") });
    const res = await fetch(req.url, { headers: { accept: req.headers.get("accept") ?? "" } });
    return new Response(await res.arrayBuffer(), { status: res.status, headers: res.headers });
  });
  try {
    const r = await scrape(targetUrl + "/metrics", {
      proxyUrl: `http://scraper:s%40cret@127.0.0.1:${port}`,
    });
    assertEquals([r.up, r.value("a"), r.error], [1, 1, ""]);
    assertEquals(via.length, 1);
    assertEquals(via[0].url, targetUrl + "/metrics");
    assertEquals(via[0].auth, "Basic " + btoa("scraper:s@cret"));
  } finally {
    await proxy.shutdown();
    await target.shutdown();
  }
});

Deno.test("credentials_file: read at each scrape through the pool, relative to the config file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-creds-" });
  const auths: string[] = [];
  const { port, server } = serve((req) => {
    auths.push(req.headers.get("authorization") ?? "");
    return new Response("a 1\n", { headers: { "Content-Type": "text/plain" } });
  });
  const db = new RecordingDb();
  let pool: ScrapePool | undefined;
  try {
    await Deno.writeTextFile(`${dir}/token`, "first\n");
    const cfg = loadYamlConfig(
      `scrape_configs:
  - job_name: j
    scrape_interval: 200ms
    scrape_timeout: 200ms
    authorization: {credentials_file: token}
    static_configs: [{targets: ["127.0.0.1:${port}"]}]
`,
      `${dir}/prometheus.yml`,
      { baseDir: dir },
    ).scrapeConfigs[0];
    pool = new ScrapePool(cfg, {
      appendable: db,
      clock: realClock,
      registry: new Registry(),
      offsetSeed: 0,
      userAgent: "t",
    });
    pool.sync([{
      source: "s",
      targets: cfg.staticConfigs[0].targets.map((a) => ({ __address__: a })),
      labels: {},
    }]);
    const waitFor = async (pred: () => boolean) => {
      for (let i = 0; i < 300 && !pred(); i++) await new Promise((r) => setTimeout(r, 10));
      assert(pred(), `timed out; saw ${JSON.stringify(auths)}`);
    };
    await waitFor(() => auths.includes("Bearer first"));
    await Deno.writeTextFile(`${dir}/token`, "rotated");
    await waitFor(() => auths.includes("Bearer rotated"));
    await Deno.remove(`${dir}/token`);
    await waitFor(() => pool!.loops()[0].status().health === "down");
    assert(pool.loops()[0].status().lastError.includes(`reading credentials file ${dir}/token`));
  } finally {
    await pool?.stop({ stale: false });
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

// ---------------------------------------------------------------------------
// TLS, with certificates made here

const OPENSSL = (() => {
  try {
    return new Deno.Command("openssl", { args: ["version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
})();

if (!OPENSSL) {
  Deno.stderr.writeSync(
    new TextEncoder().encode(
      "\n!!! SKIPPED loop_http_test TLS scrapes: openssl is not installed (config errors are still tested in src/config/scrape_options_test.ts)\n",
    ),
  );
}

async function openssl(dir: string, ...args: string[]): Promise<void> {
  const out = await new Deno.Command("openssl", {
    args,
    cwd: dir,
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  if (!out.success) {
    throw new Error(`openssl ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/** A CA, a server certificate for 127.0.0.1 and a client certificate, in a new directory. */
async function makeCerts(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "ferry-tls-" });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  await openssl(
    dir,
    "req",
    "-x509",
    ...ec,
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-days",
    "2",
    "-subj",
    "/CN=ferry-test-ca",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  );
  for (
    const [name, ext] of [
      ["srv", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n"],
      ["cli", "extendedKeyUsage=clientAuth\n"],
    ]
  ) {
    await Deno.writeTextFile(
      `${dir}/${name}.ext`,
      `basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\n${ext}`,
    );
    await openssl(
      dir,
      "req",
      ...ec,
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.csr`,
      "-subj",
      `/CN=${name}`,
    );
    await openssl(
      dir,
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      `${name}.pem`,
      "-days",
      "2",
      "-extfile",
      `${name}.ext`,
    );
  }
  return dir;
}

Deno.test({
  name:
    "tls_config: the CA from ca_file (or inline ca) verifies the target; without it the scrape fails",
  ignore: !OPENSSL,
  async fn() {
    const dir = await makeCerts();
    const server = Deno.serve({
      hostname: "127.0.0.1",
      port: 0,
      onListen() {},
      cert: await Deno.readTextFile(`${dir}/srv.pem`),
      key: await Deno.readTextFile(`${dir}/srv.key`),
    }, () => new Response("a 1\n", { headers: { "Content-Type": "text/plain" } }));
    const url = `https://127.0.0.1:${server.addr.port}/metrics`;
    const tls = scrapeConfig().tlsConfig;
    try {
      const withFile = await scrape(url, { tlsConfig: { ...tls, caFile: `${dir}/ca.pem` } });
      assertEquals([withFile.up, withFile.value("a"), withFile.error], [1, 1, ""]);
      const inline = await scrape(url, {
        tlsConfig: { ...tls, ca: await Deno.readTextFile(`${dir}/ca.pem`) },
      });
      assertEquals(inline.up, 1);
      const without = await scrape(url);
      assertEquals(without.up, 0);
      assert(without.error !== "");
      const missing = await scrape(url, { tlsConfig: { ...tls, caFile: `${dir}/nope.pem` } });
      assertEquals(missing.up, 0);
      assert(
        missing.error.startsWith(`tls_config: reading CA file ${dir}/nope.pem`),
        missing.error,
      );
    } finally {
      await server.shutdown();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "tls_config: cert_file and key_file are presented to a server that requires a client certificate",
  ignore: !OPENSSL,
  async fn() {
    const dir = await makeCerts();
    await Deno.mkdir(`${dir}/www`);
    await Deno.writeTextFile(`${dir}/www/metrics`, "a 1\n");
    // Find a free port, then let openssl s_server (which demands a client certificate) take it.
    const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (probe.addr as Deno.NetAddr).port;
    probe.close();
    const child = new Deno.Command("openssl", {
      args: [
        "s_server",
        "-accept",
        `127.0.0.1:${port}`,
        "-cert",
        "../srv.pem",
        "-key",
        "../srv.key",
        "-CAfile",
        "../ca.pem",
        "-Verify",
        "1",
        "-WWW",
        "-quiet",
      ],
      cwd: `${dir}/www`,
      stdout: "null",
      stderr: "null",
    }).spawn();
    const url = `https://127.0.0.1:${port}/metrics`;
    const tls = { ...scrapeConfig().tlsConfig, caFile: `${dir}/ca.pem` };
    try {
      for (let i = 0; i < 200; i++) {
        try {
          (await Deno.connect({ hostname: "127.0.0.1", port })).close();
          break;
        } catch {
          await new Promise((r) => setTimeout(r, 10));
        }
      }
      const withCert = await scrape(url, {
        tlsConfig: { ...tls, certFile: `${dir}/cli.pem`, keyFile: `${dir}/cli.key` },
      });
      assertEquals([withCert.up, withCert.value("a"), withCert.error], [1, 1, ""]);
      const without = await scrape(url, { tlsConfig: tls });
      assertEquals(without.up, 0);
    } finally {
      child.kill();
      await child.status;
      await Deno.remove(dir, { recursive: true });
    }
  },
});
