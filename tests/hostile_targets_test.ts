/**
 * Issue 9, item 1: scrape targets that misbehave. One agent scrapes one job
 * per hostile case (served by this test: `Deno.serve` for what HTTP can
 * express, a raw TCP listener for what breaks HTTP, TLS servers with the
 * certificates of src/web/testdata and, when openssl exists, expired and
 * wrong-host ones made here) next to a well-behaved target. Each step checks
 * one case: the target's `up` (0 for a failed scrape, with the reason as its
 * `lastError` in /api/v1/targets), what reached the receiver, and the
 * counters. Throughout, the well-behaved target keeps being scraped (its
 * samples keep arriving, its `up` is never 0) and the agent's RSS stays
 * under a generous bound.
 */

import { assert, assertEquals, assertStringIncludes } from "../src/testing/assert.ts";
import {
  freePort,
  getText,
  metricValue,
  parseReceived,
  type Proc,
  ROOT,
  skipLoudly,
  startAgent,
  startReceiver,
  waitFor,
} from "./helpers.ts";

/**
 * The agent's peak resident memory must stay under this. Four of the jobs
 * send ~100 MB bodies every 3 s with no body_size_limit (10 million labels, 10
 * million series, a 100 MB label value, 32 MiB of invalid UTF-8); a scrape
 * needs about twice its body, one such body is handled at a time, and the
 * agent idles at ~90 MiB: the peak measured 400–450 MiB with the malloc
 * settings `startAgent` passes (as every documented way of running ferry
 * does); without them glibc's sliding mmap threshold let freed body buffers
 * pile up in its heap and the peak reached 480–643 MiB.
 */
const RSS_BOUND = 640 * 1024 * 1024;
const TESTDATA = `${ROOT}src/web/testdata`;
const enc = new TextEncoder();
const TEXT = { "Content-Type": "text/plain; version=0.0.4" };

// ---------------------------------------------------------------------------
// Bodies

/** A stream of `chunks` (reused, never copied), counting the bytes the client pulled. */
function chunkStream(chunks: Iterable<Uint8Array>, sent: { bytes: number }): ReadableStream {
  const it = chunks[Symbol.iterator]();
  return new ReadableStream({
    pull(c) {
      const n = it.next();
      if (n.done) return c.close();
      sent.bytes += n.value.byteLength;
      c.enqueue(n.value);
    },
  }, { highWaterMark: 0 });
}

/** `chunk` repeated `times` times (Infinity: forever). */
function* repeat(chunk: Uint8Array, times = Infinity): Generator<Uint8Array> {
  for (let i = 0; i < times; i++) yield chunk;
}

/** Text built in ~1 MiB pieces by `piece(i)` until it returns null. */
function build(piece: (i: number) => string | null): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0;; i++) {
    const s = piece(i);
    if (s === null) return out;
    out.push(enc.encode(s));
  }
}

const MANY = 10_000_000;
const PER_PIECE = 100_000;

/** One series with ten million labels (~130 MB). */
function tenMillionLabels(): Uint8Array[] {
  const body = build((i) => {
    if (i * PER_PIECE >= MANY) return null;
    let s = i === 0 ? "many_labels{" : "";
    for (let j = i * PER_PIECE; j < (i + 1) * PER_PIECE; j++) s += `l${j.toString(36)}="x",`;
    return s;
  });
  body.push(enc.encode("} 1\n"));
  return body;
}

/** Ten million series (~100 MB). */
function tenMillionSeries(): Uint8Array[] {
  return build((i) => {
    if (i * PER_PIECE >= MANY) return null;
    let s = "";
    for (let j = i * PER_PIECE; j < (i + 1) * PER_PIECE; j++) s += `s${j.toString(36)} 1\n`;
    return s;
  });
}

async function gzip(chunks: Iterable<Uint8Array>): Promise<Uint8Array<ArrayBuffer>> {
  const src = ReadableStream.from(chunks as Iterable<Uint8Array<ArrayBuffer>>).pipeThrough(
    new CompressionStream("gzip"),
  );
  return new Uint8Array(await new Response(src).arrayBuffer());
}

const MB = 1024 * 1024;
const lines = (line: string, bytes: number) =>
  enc.encode(line.repeat(Math.ceil(bytes / line.length)));

// ---------------------------------------------------------------------------
// Servers

interface Hostile {
  port: number;
  /** Bytes the client pulled per path. */
  sent: Map<string, { bytes: number }>;
  /** Scrapes of the well-behaved target. */
  goodScrapes: () => number;
  /** Whether a redirected request arrived with an Authorization header, per path. */
  authSeen: Map<string, boolean>;
  close: () => Promise<void>;
}

/** The HTTP server of the hostile cases and the well-behaved target. */
async function startHostile(elsewherePort: () => number): Promise<Hostile> {
  const sent = new Map<string, { bytes: number }>();
  const authSeen = new Map<string, boolean>();
  const counter = (p: string) => {
    let c = sent.get(p);
    if (c === undefined) sent.set(p, c = { bytes: 0 });
    return c;
  };
  let good = 0;
  const labels10m = tenMillionLabels();
  const series10m = tenMillionSeries();
  const endless = lines("endless_metric 1\n", 64 * 1024);
  const huge = lines("huge_metric 1\n", MB);
  const bigValue = lines("a", MB);
  // 256 MiB of exposition text in ~260 KiB of gzip.
  const bomb = await gzip(repeat(lines("bomb_metric 1\n", MB), 256));
  // Invalid UTF-8 in a 32 MiB comment (fine: comments are not parsed), then a sample.
  const badComment = new Uint8Array(32 * MB).fill(0xff);
  badComment.set(enc.encode("# "));
  badComment[badComment.length - 1] = 0x0a;
  const t0 = Date.now();

  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const path = new URL(req.url).pathname;
    const stream = (chunks: Iterable<Uint8Array>, headers: HeadersInit = TEXT) =>
      new Response(chunkStream(chunks, counter(path)), { headers });
    switch (path) {
      case "/good":
        good++;
        return new Response(`# TYPE good_scrapes counter\ngood_scrapes_total ${good}\n`, {
          headers: TEXT,
        });
      case "/endless":
        return stream(repeat(endless));
      case "/huge":
        return stream(repeat(huge, 64), { ...TEXT, "Content-Length": String(64 * MB) });
      case "/gzip-bomb":
        counter(path).bytes += bomb.byteLength;
        return new Response(bomb, { headers: { ...TEXT, "Content-Encoding": "gzip" } });
      case "/labels-10m":
        return stream(labels10m);
      case "/series-10m":
        return stream(series10m);
      case "/big-value":
        return stream([
          enc.encode('big_value{v="'),
          ...repeat(bigValue, 100),
          enc.encode('"} 1\n'),
        ]);
      case "/bad-utf8-value":
        return new Response(
          new Uint8Array([
            ...enc.encode('ok_metric 1\nbad_value{l="'),
            0xff,
            0xfe,
            ...enc.encode('"} 1\n'),
          ]),
          { headers: TEXT },
        );
      case "/bad-utf8-name":
        return new Response(
          new Uint8Array([...enc.encode('{"bad'), 0xc3, 0x28, ...enc.encode('"} 1\n')]),
          { headers: { "Content-Type": "text/plain; version=1.0.0; escaping=allow-utf-8" } },
        );
      case "/bad-utf8-comment":
        return stream([badComment, enc.encode("after_comment 1\n")]);
      case "/duplicates":
        return new Response("dup_metric 1\ndup_metric 2\nuniq_metric 3\ndup_metric 4\n", {
          headers: TEXT,
        });
      case "/timestamps":
        return new Response(
          `ts_past 1 1000\n` +
            `ts_future 2 ${t0 + 100 * 365 * 86_400_000}\n` +
            `ts_fixed 3 ${t0 - 3_600_000}\n` +
            `ts_beyond 4 9223372036854775807\n` +
            `ts_none 5\n`,
          { headers: TEXT },
        );
      case "/nan":
        return new Response(
          "# TYPE nan_hist histogram\n" +
            'nan_hist_bucket{le="1"} NaN\nnan_hist_bucket{le="+Inf"} +Inf\n' +
            "nan_hist_sum NaN\nnan_hist_count +Inf\n" +
            "# TYPE nan_sum summary\n" +
            'nan_sum{quantile="0.5"} NaN\nnan_sum{quantile="NaN"} -Inf\nnan_sum_sum -Inf\nnan_sum_count 0\n' +
            "nan_gauge NaN\npos_inf +Inf\nneg_inf -Inf\n" +
            'nan_label{v="NaN"} 1\n',
          { headers: TEXT },
        );
      case "/html":
        return new Response("html_metric 1\n", { headers: { "Content-Type": "text/html" } });
      case "/no-content-type":
        return new Response(enc.encode("no_ct_metric 1\n"));
      case "/redirect-away":
        return new Response(null, {
          status: 302,
          headers: { Location: `http://localhost:${elsewherePort()}/elsewhere` },
        });
      case "/redirect-loop": {
        // Each hop one further: the longest chain a scrape followed is recorded.
        const hop = Number(new URL(req.url).searchParams.get("hop") ?? 0);
        const c = counter(path);
        c.bytes = Math.max(c.bytes, hop);
        return new Response(null, {
          status: 302,
          headers: { Location: `/redirect-loop?hop=${hop + 1}` },
        });
      }
      default:
        return new Response("not found\n", { status: 404 });
    }
  });
  return {
    port: server.addr.port,
    sent,
    authSeen,
    goodScrapes: () => good,
    close: () => server.shutdown(),
  };
}

/** Where /redirect-away leads: another origin (localhost, another port). */
function startElsewhere(authSeen: Map<string, boolean>) {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    authSeen.set("/elsewhere", req.headers.has("authorization"));
    return new Response("elsewhere_metric 1\n", { headers: TEXT });
  });
  return { port: server.addr.port, close: () => server.shutdown() };
}

/**
 * A TCP listener that breaks HTTP, by request path: `/slow-headers` sends a
 * status line and then one header byte every 100 ms, forever; `/slow-body`
 * sends headers and then one body byte every 100 ms; `/truncated` promises
 * 1000 bytes and closes after 12; `/not-http` answers with an SSH banner.
 * It counts connections open at the same time: a client that does not close
 * what it abandons makes that number grow.
 */
function startRaw() {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let open = 0, maxOpen = 0, total = 0;
  const conns = new Set<Deno.Conn>();
  const handle = async (conn: Deno.Conn) => {
    open++;
    total++;
    maxOpen = Math.max(maxOpen, open);
    conns.add(conn);
    try {
      const buf = new Uint8Array(8192);
      let req = "";
      while (!req.includes("\r\n\r\n")) {
        const n = await conn.read(buf);
        if (n === null) return;
        req += new TextDecoder().decode(buf.subarray(0, n));
      }
      const path = req.split(" ")[1];
      const write = (s: string) => conn.write(enc.encode(s));
      const trickle = async (head: string) => {
        await write(head);
        for (;;) {
          await new Promise((r) => setTimeout(r, 100));
          await write("a");
        }
      };
      switch (path) {
        case "/slow-headers":
          return await trickle("HTTP/1.1 200 OK\r\nX-Slow: ");
        case "/slow-body":
          return await trickle(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nConnection: close\r\n\r\n# ",
          );
        case "/truncated":
          await write(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: 1000\r\n\r\ntruncated 1\n",
          );
          return;
        default:
          await write("SSH-2.0-OpenSSH_9.6\r\n");
          return;
      }
    } catch {
      // the client went away
    } finally {
      open--;
      conns.delete(conn);
      try {
        conn.close();
      } catch {
        // closed
      }
    }
  };
  (async () => {
    try {
      for await (const c of listener) handle(c);
    } catch {
      // closed
    }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    stats: () => ({ open, maxOpen, total }),
    close() {
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch {
          // closed
        }
      }
    },
  };
}

/** An HTTPS server with `cert`/`key` (PEM) serving one sample. */
function startTls(cert: string, key: string) {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, cert, key, onListen() {}, onError: () => new Response() },
    () => new Response("tls_metric 1\n", { headers: TEXT }),
  );
  return { port: server.addr.port, close: () => server.shutdown() };
}

async function hasOpenssl(): Promise<boolean> {
  try {
    const out = await new Deno.Command("openssl", {
      args: ["version"],
      stdout: "null",
      stderr: "null",
    }).output();
    return out.success;
  } catch {
    return false;
  }
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

/**
 * A new CA and two server certificates it signs: one for 127.0.0.1 that
 * expired (valid for a day, two days ago), one valid only for `wrong.example`.
 */
async function makeBadCerts(dir: string): Promise<void> {
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
    "3",
    "-subj",
    "/CN=ferry-hostile-ca",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  );
  await Deno.writeTextFile(`${dir}/ca.cnf`, CA_CNF);
  await Deno.writeTextFile(`${dir}/index.txt`, "");
  await Deno.writeTextFile(`${dir}/serial`, "1000\n");
  const day = 86_400_000;
  const asn1 = (ms: number) => new Date(ms).toISOString().replace(/[-:T]/g, "").slice(2, 14) + "Z";
  for (
    const [name, san, from, to] of [
      ["expired", "IP:127.0.0.1", Date.now() - 2 * day, Date.now() - day],
      ["wronghost", "DNS:wrong.example", Date.now() - day, Date.now() + 2 * day],
    ] as const
  ) {
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
    await Deno.writeTextFile(
      `${dir}/${name}.ext`,
      `basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=${san}\n`,
    );
    await openssl(
      dir,
      "ca",
      "-batch",
      "-config",
      "ca.cnf",
      "-in",
      `${name}.csr`,
      "-out",
      `${name}.pem`,
      "-startdate",
      asn1(from),
      "-enddate",
      asn1(to),
      "-extfile",
      `${name}.ext`,
      "-notext",
    );
  }
}

const CA_CNF = `[ca]
default_ca = test
[test]
dir = .
database = index.txt
serial = serial
new_certs_dir = .
certificate = ca.pem
private_key = ca.key
default_md = sha256
policy = any
[any]
commonName = supplied
`;

// ---------------------------------------------------------------------------
// The agent

interface TargetStatus {
  health: string;
  lastError: string;
  lastScrape: string;
}

/** The highest resident set size a process has had (Linux VmHWM), in bytes; NaN elsewhere. */
function peakRss(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(Deno.readTextFileSync(`/proc/${pid}/status`));
    return m ? Number(m[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

async function targets(web: string): Promise<Map<string, TargetStatus>> {
  const j = JSON.parse(await getText(`${web}/api/v1/targets?state=active`));
  const out = new Map<string, TargetStatus>();
  for (const t of j.data.activeTargets) out.set(t.scrapePool, t);
  return out;
}

/** A job: name, target, path and extra fields as TypeScript source. */
type Job = [name: string, target: string, path: string, extra?: string];

Deno.test({
  name: "hostile targets: each fails cleanly, the well-behaved one keeps scraping, RSS bounded",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const dir = await Deno.makeTempDir({ prefix: "ferry-hostile-" });
    const authSeen = new Map<string, boolean>();
    const elsewhere = startElsewhere(authSeen);
    const hostile = await startHostile(() => elsewhere.port);
    const raw = startRaw();
    const tlsGood = startTls(
      await Deno.readTextFile(`${TESTDATA}/web.crt`),
      await Deno.readTextFile(`${TESTDATA}/web.key`),
    );
    const closers: (() => unknown)[] = [elsewhere.close, hostile.close, raw.close, tlsGood.close];
    const opensslOk = await hasOpenssl();
    let expiredPort = 0, wrongHostPort = 0;
    if (opensslOk) {
      await makeBadCerts(dir);
      const key = (n: string) => Deno.readTextFile(`${dir}/${n}.key`);
      const crt = (n: string) => Deno.readTextFile(`${dir}/${n}.pem`);
      const expired = startTls(await crt("expired"), await key("expired"));
      const wrong = startTls(await crt("wronghost"), await key("wronghost"));
      expiredPort = expired.port;
      wrongHostPort = wrong.port;
      closers.push(expired.close, wrong.close);
    } else {
      skipLoudly(
        "hostile_targets_test expired and wrong-host TLS cases",
        "openssl is not installed",
      );
    }

    const h = `127.0.0.1:${hostile.port}`, r = `127.0.0.1:${raw.port}`;
    const slow = 'scrapeInterval: "3s", scrapeTimeout: "3s"';
    const jobs: Job[] = [
      ["good", h, "/good"],
      ["endless", h, "/endless", 'bodySizeLimit: "1MB"'],
      ["huge", h, "/huge", 'bodySizeLimit: "1MB"'],
      ["gzip_bomb", h, "/gzip-bomb", 'bodySizeLimit: "1MB"'],
      ["gzip_bomb_identity", h, "/gzip-bomb", 'bodySizeLimit: "1MB", enableCompression: false'],
      ["slow_headers", r, "/slow-headers"],
      ["slow_body", r, "/slow-body"],
      ["truncated", r, "/truncated"],
      ["not_http", r, "/not-http"],
      ["labels_10m_body_limit", h, "/labels-10m", 'bodySizeLimit: "8MB"'],
      ["labels_10m_label_limit", h, "/labels-10m", `labelLimit: 64, ${slow}`],
      ["series_10m_sample_limit", h, "/series-10m", `sampleLimit: 1000, ${slow}`],
      ["big_value_body_limit", h, "/big-value", 'bodySizeLimit: "8MB"'],
      ["big_value_length_limit", h, "/big-value", `labelValueLengthLimit: 1024, ${slow}`],
      ["bad_utf8_value", h, "/bad-utf8-value"],
      ["bad_utf8_name", h, "/bad-utf8-name"],
      ["bad_utf8_comment", h, "/bad-utf8-comment", slow],
      ["duplicates", h, "/duplicates"],
      ["timestamps", h, "/timestamps"],
      ["nan", h, "/nan"],
      ["content_type_html", h, "/html"],
      ["content_type_html_fallback", h, "/html", 'fallbackScrapeProtocol: "PrometheusText0.0.4"'],
      ["content_type_missing", h, "/no-content-type"],
      ["redirect_not_followed", h, "/redirect-away", "followRedirects: false"],
      [
        "redirect_followed",
        h,
        "/redirect-away",
        'authorization: { credentials: "secret-token" }',
      ],
      ["redirect_loop", h, "/redirect-loop"],
      ["tls_unknown_ca", `127.0.0.1:${tlsGood.port}`, "/", 'scheme: "https"'],
      [
        "tls_known_ca",
        `127.0.0.1:${tlsGood.port}`,
        "/",
        `scheme: "https", tlsConfig: { caFile: ${JSON.stringify(`${TESTDATA}/ca.crt`)} }`,
      ],
    ];
    if (opensslOk) {
      const ca = `tlsConfig: { caFile: ${JSON.stringify(`${dir}/ca.pem`)} }`;
      jobs.push(
        ["tls_expired", `127.0.0.1:${expiredPort}`, "/", `scheme: "https", ${ca}`],
        ["tls_wrong_host", `127.0.0.1:${wrongHostPort}`, "/", `scheme: "https", ${ca}`],
      );
    }
    const rxPort = freePort(), webPort = freePort();
    await Deno.writeTextFile(
      `${dir}/agent.config.ts`,
      `export default {
  global: { scrapeInterval: "1s", scrapeTimeout: "1s" },
  scrapeConfigs: [
${
        jobs.map(([name, target, path, extra]) =>
          `    { jobName: ${JSON.stringify(name)}, metricsPath: ${JSON.stringify(path)}, ` +
          `staticConfigs: [{ targets: [${JSON.stringify(target)}] }]${extra ? ", " + extra : ""} },`
        ).join("\n")
      }
  ],
  remoteWrite: [{
    url: "http://127.0.0.1:${rxPort}/api/v1/write",
    name: "rx",
    queueConfig: { batchSendDeadline: "1s", minBackoff: "50ms", maxBackoff: "200ms" },
  }],
};
`,
    );
    const rx = startReceiver(rxPort);
    const agent = startAgent([
      `${dir}/agent.config.ts`,
      `--storage.agent.path=${dir}/data`,
      `--web.listen-address=127.0.0.1:${webPort}`,
    ]);
    const web = `http://127.0.0.1:${webPort}`;
    const dump = (p: Proc, n: number) => `--- ${p.name} ---\n${p.output().slice(-n)}`;
    const failed: string[] = [];
    const step = async (name: string, fn: () => void) => {
      if (!await t.step(name, fn)) failed.push(name);
    };
    try {
      // Every job scraped (the slow ones within 3 s of the start).
      await waitFor("every job scraped", async () => {
        const ts = await targets(web);
        if (ts.size < jobs.length) return undefined;
        for (const s of ts.values()) if (!s.lastScrape || s.health === "unknown") return undefined;
        return ts;
      }, 40_000);
      const goodBefore = hostile.goodScrapes();
      // Let every hostile case go round a few more times.
      await new Promise((r) => setTimeout(r, 7_000));
      const status = await targets(web);
      const received = parseReceived(rx.output());
      const ups = (job: string) =>
        received.filter((x) =>
          x.labels.startsWith('{__name__="up", instance=') &&
          x.labels.includes(`job="${job}"`)
        ).map((x) => x.v);
      const samples = (name: string) =>
        received.filter((x) => x.labels.startsWith(`{__name__="${name}"`));
      const metrics = await getText(`${web}/metrics`);

      const down = (job: string, error: string) => {
        const s = status.get(job)!;
        assertEquals(s.health, "down", `${job}: ${JSON.stringify(s)}`);
        assertStringIncludes(s.lastError, error, job);
        const u = ups(job);
        assert(u.length > 0 && u.every((v) => v === "0"), `${job}: up samples ${u.join(",")}`);
      };
      const up = (job: string) => {
        const s = status.get(job)!;
        assertEquals([s.health, s.lastError], ["up", ""], job);
        const u = ups(job);
        assert(u.length > 0 && u.every((v) => v === "1"), `${job}: up samples ${u.join(",")}`);
      };

      await step("the well-behaved target keeps being scraped, up 1 throughout", () => {
        up("good");
        assert(hostile.goodScrapes() >= goodBefore + 4, `${hostile.goodScrapes()} scrapes`);
        const values = samples("good_scrapes_total").map((x) => Number(x.v));
        assert(values.length >= 6, `good samples: ${values.join(",")}`);
      });

      await step("endless body: cut at body_size_limit, the rest never downloaded", () => {
        down("endless", "body size limit exceeded (limit 1048576 bytes)");
        const scrapes = ups("endless").length;
        const pulled = hostile.sent.get("/endless")!.bytes;
        // Each scrape pulls the limit plus what sits in socket buffers, not more.
        assert(pulled < scrapes * 16 * MB, `${pulled} bytes pulled in ${scrapes} scrapes`);
      });

      await step("huge body: body_size_limit fails it before it is downloaded", () => {
        down("huge", "body size limit exceeded (limit 1048576 bytes)");
        const scrapes = ups("huge").length;
        const pulled = hostile.sent.get("/huge")!.bytes;
        // A quarter of the body at most: the rest stays unsent.
        assert(pulled < scrapes * 16 * MB, `${pulled} bytes pulled in ${scrapes} scrapes`);
        assert(
          (metricValue(metrics, "prometheus_target_scrapes_exceeded_body_size_limit_total") ?? 0) >=
            4,
        );
      });

      await step("gzip bomb: the decompressed size is bounded by body_size_limit", () => {
        down("gzip_bomb", "body size limit exceeded (limit 1048576 bytes)");
        down("gzip_bomb_identity", "body size limit exceeded (limit 1048576 bytes)");
      });

      await step("slowloris: a trickle fails at scrape_timeout, its connection closed", () => {
        down("slow_headers", "scrape timed out after 1s");
        down("slow_body", "scrape timed out after 1s");
        const s = raw.stats();
        // Two slow jobs, one connection each at a time: abandoned connections are closed.
        assert(s.open <= 4 && s.maxOpen <= 6, JSON.stringify(s));
      });

      await step("broken HTTP: a truncated body or a non-HTTP answer fails the scrape", () => {
        down("truncated", "");
        down("not_http", "");
        assert(status.get("truncated")!.lastError !== "");
        assert(status.get("not_http")!.lastError !== "");
      });

      await step("ten million labels: body_size_limit or label_limit fails the scrape", () => {
        down("labels_10m_body_limit", "body size limit exceeded (limit 8388608 bytes)");
        // Ten million exposed, the name and the two target labels.
        down(
          "labels_10m_label_limit",
          "label_limit exceeded (metric: many_labels, number of labels: 10000003, limit: 64)",
        );
      });

      await step("ten million series: sample_limit fails the scrape, counts reported", () => {
        down("series_10m_sample_limit", "sample limit exceeded (limit 1000)");
        const scraped = received.filter((x) =>
          x.labels.startsWith('{__name__="scrape_samples_scraped"') &&
          x.labels.includes('job="series_10m_sample_limit"')
        );
        assert(scraped.length > 0 && scraped.every((x) => x.v === String(MANY)), scraped[0]?.v);
      });

      await step("100 MB label value: label_value_length_limit or body_size_limit", () => {
        down("big_value_body_limit", "body size limit exceeded (limit 8388608 bytes)");
        down(
          "big_value_length_limit",
          "label_value_length_limit exceeded (metric: big_value, label name: v, value: ",
        );
        assertStringIncludes(status.get("big_value_length_limit")!.lastError, "length: 104857600");
      });

      await step("invalid UTF-8: in a name or value the scrape fails, in a comment not", () => {
        down("bad_utf8_value", 'value of label "l" is not valid UTF-8');
        down("bad_utf8_name", "not valid UTF-8");
        up("bad_utf8_comment");
        assert(samples("after_comment").length > 0);
      });

      await step("duplicate series in one scrape: the first sample is kept, counted", () => {
        up("duplicates");
        const dup = samples("dup_metric");
        const times = dup.map((x) => x.t);
        assertEquals(new Set(times).size, times.length, "one sample per scrape");
        assert(dup.every((x) => x.v === "1"), dup.map((x) => x.v).join(","));
        assert(
          (metricValue(metrics, "prometheus_target_scrapes_sample_duplicate_timestamp_total") ??
            0) >= 2,
        );
      });

      await step(
        "timestamps far in the past or future: sent once, as Prometheus Agent does",
        () => {
          up("timestamps");
          assertEquals(samples("ts_past").map((x) => x.t), [1000], "sent once");
          assertEquals(samples("ts_fixed").length, 1, "sent once");
          assertEquals(samples("ts_future").length, 1, "sent once");
          assertEquals(samples("ts_beyond").length, 0, "not representable");
          assert(samples("ts_none").length >= 4);
          assert(
            (metricValue(metrics, "prometheus_target_scrapes_sample_out_of_order_total") ?? 0) >= 6,
          );
          assert(
            (metricValue(metrics, "prometheus_target_scrapes_sample_out_of_bounds_total") ?? 0) >=
              2,
          );
        },
      );

      await step("NaN and ±Inf everywhere are values: kept, the scrape succeeds", () => {
        up("nan");
        const last = (name: string) => samples(name).at(-1)?.v;
        assertEquals(last("nan_gauge"), "NaN");
        assertEquals(last("pos_inf"), "+Inf");
        assertEquals(last("neg_inf"), "-Inf");
        assertEquals(last("nan_hist_sum"), "NaN");
        assertEquals(last("nan_hist_count"), "+Inf");
        assertEquals(last("nan_sum_sum"), "-Inf");
        assert(received.some((x) => x.labels.includes('quantile="NaN"')));
        assert(samples("nan_label").some((x) => x.labels.includes('v="NaN"')));
      });

      await step(
        "wrong Content-Type: fails without fallback_scrape_protocol, parsed with it",
        () => {
          down("content_type_html", 'received unsupported Content-Type "text/html"');
          down("content_type_missing", "blank Content-Type");
          up("content_type_html_fallback");
          assert(samples("html_metric").length > 0);
        },
      );

      await step(
        "redirects: not followed → fails; followed → elsewhere, no credentials; loops bounded",
        () => {
          down("redirect_not_followed", "server returned HTTP status 302");
          up("redirect_followed");
          assertEquals(
            authSeen.get("/elsewhere"),
            false,
            "Authorization not sent to another origin",
          );
          down("redirect_loop", "redirect");
          // fetch follows at most 20 redirects (Prometheus: 10).
          const hops = hostile.sent.get("/redirect-loop")!.bytes;
          assert(hops > 0 && hops <= 20, `${hops} redirects followed`);
        },
      );

      await step("TLS: unknown CA, expired, wrong host fail; the right CA works", () => {
        down("tls_unknown_ca", "certificate");
        up("tls_known_ca");
        if (!opensslOk) return;
        down("tls_expired", "xpired");
        down("tls_wrong_host", "not valid for");
      });

      await step("memory stays bounded: the agent's peak RSS", () => {
        const peak = peakRss(agent.pid);
        if (Number.isNaN(peak)) return skipLoudly("the RSS bound", "no /proc on this system");
        assert(peak > 0 && peak < RSS_BOUND, `peak RSS ${Math.round(peak / MB)} MiB`);
        assert(agent.rssBytes() < RSS_BOUND);
      });
      if (failed.length > 0) throw new Error(`failed: ${failed.join("; ")}`);
    } catch (e) {
      throw new Error(`${(e as Error).message}\n${dump(agent, 6000)}\n${dump(rx, 1500)}`);
    } finally {
      await agent.stop();
      await rx.stop();
      for (const c of closers) await c();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
