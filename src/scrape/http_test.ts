import type { ScrapeProtocol } from "../config/types.ts";
import { assert, assertEquals, assertRejects, assertThrows } from "../testing/assert.ts";
import {
  acceptHeader,
  BodySizeLimitError,
  ContentTypeError,
  decodeBody,
  type HttpClientOptions,
  MediaTypeError,
  parseMediaType,
  protocolFor,
  proxyOptions,
  readBody,
  ScrapeHttpClient,
} from "./http.ts";

Deno.test("acceptHeader builds Prometheus' header from scrape_protocols", async (t) => {
  const table: [ScrapeProtocol[], string][] = [
    [
      [
        "OpenMetricsText1.0.0",
        "OpenMetricsText0.0.1",
        "PrometheusText1.0.0",
        "PrometheusText0.0.4",
      ],
      "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6," +
      "application/openmetrics-text;version=0.0.1;q=0.5," +
      "text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4," +
      "text/plain;version=0.0.4;q=0.3,*/*;q=0.2",
    ],
    [["PrometheusText0.0.4"], "text/plain;version=0.0.4;q=0.6,*/*;q=0.5"],
    [
      ["PrometheusText1.0.0", "OpenMetricsText0.0.1"],
      "text/plain;version=1.0.0;escaping=allow-utf-8;q=0.6," +
      "application/openmetrics-text;version=0.0.1;q=0.5,*/*;q=0.4",
    ],
    [
      [
        "PrometheusProto",
        "OpenMetricsText1.0.0",
        "OpenMetricsText0.0.1",
        "PrometheusText1.0.0",
        "PrometheusText0.0.4",
      ],
      "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.6," +
      "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5," +
      "application/openmetrics-text;version=0.0.1;q=0.4," +
      "text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3," +
      "text/plain;version=0.0.4;q=0.2,*/*;q=0.1",
    ],
  ];
  for (const [protocols, want] of table) {
    await t.step(protocols.join(","), () => assertEquals(acceptHeader(protocols), want));
  }
});

Deno.test("parseMediaType accepts and rejects what Go's mime.ParseMediaType does", async (t) => {
  const ok: [string, string, Record<string, string>][] = [
    ["text/plain", "text/plain", {}],
    [
      "text/plain; version=0.0.4; charset=utf-8",
      "text/plain",
      { version: "0.0.4", charset: "utf-8" },
    ],
    ["Text/Plain;Version=0.0.4", "text/plain", { version: "0.0.4" }],
    ["text/plain;", "text/plain", {}],
    ["  text/plain ;  version = 1.0.0 ", "text/plain", { version: "1.0.0" }],
    ['text/plain; x="a\\"b;c"', "text/plain", { x: 'a"b;c' }],
    ['text/plain; x="a\\nb"', "text/plain", { x: "a\\nb" }], // a needless escape stays literal
    ["text", "text", {}], // a lone token is a media type (then unsupported)
  ];
  for (const [input, type, params] of ok) {
    await t.step(`ok: ${input}`, () => {
      const got = parseMediaType(input);
      assertEquals(got.type, type);
      assertEquals(Object.fromEntries(got.params), params);
    });
  }
  const bad: [string, string][] = [
    ["", "mime: no media type"],
    ["/plain", "mime: no media type"],
    ["text/", "mime: expected token after slash"],
    ["text plain", "mime: expected slash after first token"],
    ["text/plain/x", "mime: unexpected content after media subtype"],
    ["text/plain; version", "mime: invalid media parameter"],
    ["text/plain;;", "mime: invalid media parameter"],
    ['text/plain; x="open', "mime: invalid media parameter"],
    ["text/plain; a=1; A=2", "mime: duplicate parameter name"],
  ];
  for (const [input, msg] of bad) {
    await t.step(`error: ${JSON.stringify(input)}`, () => {
      const e = assertThrows(() => parseMediaType(input), MediaTypeError);
      assertEquals(e.message, msg);
    });
  }
});

Deno.test("protocolFor picks the format from Content-Type, as Prometheus 3", async (t) => {
  const table: [string | null, ScrapeProtocol | "", ScrapeProtocol | string][] = [
    ["text/plain; version=0.0.4; charset=utf-8", "", "PrometheusText0.0.4"],
    ["text/plain", "", "PrometheusText0.0.4"],
    ["text/plain; version=1.0.0; escaping=allow-utf-8", "", "PrometheusText1.0.0"],
    ["application/openmetrics-text; version=1.0.0; charset=utf-8", "", "OpenMetricsText1.0.0"],
    ["application/openmetrics-text; version=0.0.1", "", "OpenMetricsText0.0.1"],
    ["application/openmetrics-text", "", "OpenMetricsText1.0.0"],
    [
      "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited",
      "",
      "PrometheusProto",
    ],
    [
      null,
      "",
      "non-compliant scrape target sending blank Content-Type and no fallback_scrape_protocol specified for target",
    ],
    [
      "",
      "",
      "non-compliant scrape target sending blank Content-Type and no fallback_scrape_protocol specified for target",
    ],
    [
      "text/",
      "",
      'cannot parse Content-Type "text/" and no fallback_scrape_protocol for target: mime: expected token after slash',
    ],
    [
      "application/json",
      "",
      'received unsupported Content-Type "application/json" and no fallback_scrape_protocol specified for target',
    ],
    [
      "text",
      "",
      'received unsupported Content-Type "text" and no fallback_scrape_protocol specified for target',
    ],
    [null, "PrometheusText0.0.4", "PrometheusText0.0.4"],
    ["text/", "OpenMetricsText1.0.0", "OpenMetricsText1.0.0"],
    ["application/json", "PrometheusText1.0.0", "PrometheusText1.0.0"],
    // A recognised type wins over the fallback.
    ["application/openmetrics-text", "PrometheusText0.0.4", "OpenMetricsText1.0.0"],
  ];
  for (const [ct, fallback, want] of table) {
    await t.step(`${JSON.stringify(ct)} fallback ${JSON.stringify(fallback)}`, () => {
      if (want.includes(" ")) {
        const e = assertThrows(() => protocolFor(ct, fallback), ContentTypeError);
        assertEquals(e.message, want);
        return;
      }
      const got = protocolFor(ct, fallback);
      assertEquals(got.protocol, want);
      const usedFallback = fallback !== "" && want === fallback &&
        !(ct ?? "").startsWith("text/plain");
      assertEquals(got.note !== undefined, usedFallback);
    });
  }
});

/** A response streaming `chunks`; `pulled` counts the chunks the reader asked for. */
function streamed(chunks: Uint8Array[]): { res: Response; pulled: () => number } {
  let i = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(c) {
      if (i < chunks.length) c.enqueue(chunks[i++]);
      else c.close();
    },
  }, { highWaterMark: 0 });
  return { res: new Response(body), pulled: () => i };
}

const bytes = (n: number, fill = 0x61) => new Uint8Array(n).fill(fill);

Deno.test("readBody: body_size_limit counts bytes and stops reading at the limit", async (t) => {
  const table: [number[], number, "ok" | "limit"][] = [
    [[10, 10], 0, "ok"],
    [[10, 10], 21, "ok"],
    [[10, 10], 20, "limit"], // reaching the limit fails, as Prometheus (n >= limit)
    [[10, 10], 15, "limit"],
    [[0], 1, "ok"],
  ];
  for (const [sizes, limit, want] of table) {
    await t.step(`${sizes} limit ${limit}`, async () => {
      const { res } = streamed(sizes.map((n) => bytes(n)));
      if (want === "ok") {
        const got = await readBody(res, { limit, gunzip: false });
        assertEquals(got.length, sizes.reduce((a, b) => a + b, 0));
      } else {
        const e = await assertRejects(() => readBody(res, { limit, gunzip: false }));
        assert(e instanceof BodySizeLimitError);
        assertEquals(e.message, `body size limit exceeded (limit ${limit} bytes)`);
      }
    });
  }
  await t.step("a huge body is abandoned, not downloaded", async () => {
    const { res, pulled } = streamed(Array.from({ length: 1000 }, () => bytes(1024)));
    await assertRejects(() => readBody(res, { limit: 4096, gunzip: false }));
    assert(pulled() <= 5, `read ${pulled()} chunks`);
  });
});

async function gzip(text: string): Promise<Uint8Array<ArrayBuffer>> {
  const s = new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(s).arrayBuffer());
}

Deno.test("readBody: gunzip decodes, and the limit applies to the decoded size", async () => {
  const text = "a 1\n".repeat(1000);
  const gz = await gzip(text);
  assert(gz.length < 200);
  assertEquals(decodeBody(await readBody(new Response(gz), { limit: 0, gunzip: true })), text);
  await assertRejects(
    () => readBody(new Response(gz), { limit: 1000, gunzip: true }),
    BodySizeLimitError,
  );
  // Corrupt gzip is an error, not garbage text.
  await assertRejects(() =>
    readBody(new Response(new Uint8Array([0x1f, 0x8b, 1, 2, 3])), { limit: 0, gunzip: true })
  );
});

Deno.test("decodeBody keeps a byte order mark (it fails parsing, as in Prometheus)", () => {
  assertEquals(decodeBody(new Uint8Array([0xef, 0xbb, 0xbf, 0x61])), "\ufeffa");
});

Deno.test("proxyOptions: transport from the scheme, user info as proxy basic auth", () => {
  assertEquals(proxyOptions("http://proxy:3128"), {
    transport: "http",
    url: "http://proxy:3128",
  });
  assertEquals(proxyOptions("https://u%40x:p%3Aw@proxy:3129/"), {
    transport: "https",
    url: "https://proxy:3129/",
    basicAuth: { username: "u@x", password: "p:w" },
  });
  assertEquals(proxyOptions("socks5://proxy:1080").transport, "socks5");
});

const NO_TLS = { ca: "", caFile: "", cert: "", certFile: "", key: "", keyFile: "" };
const PEM = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";

function fakeClients() {
  const made: HttpClientOptions[] = [];
  const closed: number[] = [];
  const create = (o: HttpClientOptions) => {
    const id = made.push(o);
    return { close: () => closed.push(id) } as unknown as Deno.HttpClient;
  };
  return { made, closed, create };
}

Deno.test("ScrapeHttpClient: only jobs with TLS or a proxy get a client", async () => {
  const { made, create } = fakeClients();
  const c = new ScrapeHttpClient({ tlsConfig: NO_TLS, proxyUrl: "" }, { create });
  assertEquals(c.needed, false);
  assertEquals(await c.get(), undefined);
  assertEquals(made.length, 0);
});

Deno.test("ScrapeHttpClient: files are read at scrape time and a change rebuilds the client", async () => {
  const { made, closed, create } = fakeClients();
  const files: Record<string, string> = { "/ca.pem": PEM, "/c.pem": "CERT", "/k.pem": "KEY" };
  let reads = 0;
  const readTextFile = (p: string) => {
    reads++;
    return p in files ? Promise.resolve(files[p]) : Promise.reject(new Error("not found"));
  };
  const c = new ScrapeHttpClient(
    {
      tlsConfig: { ...NO_TLS, caFile: "/ca.pem", certFile: "/c.pem", keyFile: "/k.pem" },
      proxyUrl: "http://u:p@proxy:3128",
    },
    { create, readTextFile, recheckMs: 0 },
  );
  const first = await c.get();
  assertEquals(made, [{
    caCerts: [PEM],
    cert: "CERT",
    key: "KEY",
    proxy: {
      transport: "http",
      url: "http://proxy:3128/",
      basicAuth: { username: "u", password: "p" },
    },
  }]);
  assertEquals(await c.get(), first, "unchanged files: same client");
  assertEquals(made.length, 1);
  files["/c.pem"] = "CERT2";
  const second = await c.get();
  assert(second !== first, "a rotated certificate makes a new client");
  assertEquals(made[1].cert, "CERT2");
  delete files["/k.pem"];
  const e = await assertRejects(() => c.get());
  assertEquals(e.message, "tls_config: reading key file /k.pem: not found");
  assert(reads >= 9);
  c.close();
  assertEquals(closed, [1, 2]);
});

Deno.test("ScrapeHttpClient: concurrent scrapes share one read; reads are rate-limited", async () => {
  const { made, create } = fakeClients();
  let reads = 0;
  const c = new ScrapeHttpClient(
    { tlsConfig: { ...NO_TLS, caFile: "/ca.pem" }, proxyUrl: "" },
    {
      create,
      readTextFile: () => {
        reads++;
        return Promise.resolve(PEM);
      },
    },
  );
  const got = await Promise.all([c.get(), c.get(), c.get()]);
  assert(got[0] === got[1] && got[1] === got[2]);
  await c.get();
  assertEquals([reads, made.length], [1, 1]);
});

Deno.test("ScrapeHttpClient: a CA without a PEM certificate and PEM Deno rejects fail with the reason", async () => {
  const garbage = new ScrapeHttpClient({ tlsConfig: { ...NO_TLS, ca: "garbage" }, proxyUrl: "" });
  const e1 = await assertRejects(() => garbage.get());
  assertEquals(e1.message, "tls_config: no PEM certificate found in the CA");
  const bad = new ScrapeHttpClient({ tlsConfig: { ...NO_TLS, ca: PEM }, proxyUrl: "" });
  const e2 = await assertRejects(() => bad.get());
  assert(e2.message.startsWith("creating the HTTP client (tls_config, proxy_url): "), e2.message);
});
