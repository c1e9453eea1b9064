import {
  classifyStatus,
  parseRetryAfter,
  parseWritten,
  RemoteWriteClient,
  type SendResult,
  type WrittenCounts,
} from "./client.ts";
import { assert, assertEquals, rwConfig } from "./test_util.ts";
import type { ResolvedRemoteWrite } from "../config/types.ts";
import { redactUrl } from "../util/url.ts";

const BODY = new Uint8Array([1, 2, 3]);
const NOW = Date.parse("2026-08-21T12:00:00Z");

/** A fetch that records requests and answers with `answer`. */
function fakeFetch(answer: (req: Request) => Response | Promise<Response>) {
  const seen: Request[] = [];
  const f = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const req = new Request(input, init);
    seen.push(req);
    return await answer(req);
  }) as typeof fetch;
  return { fetch: f, seen };
}

function client(
  config: ResolvedRemoteWrite,
  answer: (req: Request) => Response | Promise<Response>,
) {
  const ff = fakeFetch(answer);
  return {
    c: new RemoteWriteClient(config, { version: "1.2.3", fetch: ff.fetch, now: () => NOW }),
    seen: ff.seen,
  };
}

Deno.test("client: protocol headers, user headers, body", async () => {
  const config = rwConfig("http://rw.example:9201/api/v1/write", {
    headers: {
      "X-Scope-OrgID": "tenant-1",
      "content-type": "text/plain",
      "User-Agent": "evil/0",
      "X-Prometheus-Remote-Write-Version": "2.0.0",
      "CONTENT-ENCODING": "gzip",
      "Content-Length": "99",
    },
  });
  const { c, seen } = client(config, () => new Response(null, { status: 204 }));
  const res = await c.send(BODY);
  assertEquals(res, { kind: "ok", status: 204 });
  const req = seen[0];
  assertEquals(req.method, "POST");
  assertEquals(req.url, "http://rw.example:9201/api/v1/write");
  const h = Object.fromEntries(req.headers.entries());
  assertEquals(h["content-encoding"], "snappy");
  assertEquals(h["content-type"], "application/x-protobuf");
  assertEquals(h["user-agent"], "ferry/1.2.3");
  assertEquals(h["x-prometheus-remote-write-version"], "0.1.0");
  assertEquals(h["x-scope-orgid"], "tenant-1");
  assertEquals(h["retry-attempt"], undefined);
  assertEquals(h["authorization"], undefined);
  assertEquals(Array.from(new Uint8Array(await req.arrayBuffer())), [1, 2, 3]);

  await c.send(BODY, { attempt: 2 });
  assertEquals(seen[1].headers.get("retry-attempt"), "2");
});

Deno.test("client: headers over a real socket", async () => {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    seen.push(req.headers);
    return new Response("ignored body", { status: 200 });
  });
  const seen: Headers[] = [];
  try {
    const url = `http://127.0.0.1:${server.addr.port}/write`;
    const c = new RemoteWriteClient(rwConfig(url, { headers: { "Content-Type": "x" } }), {
      version: "0.1.0",
    });
    assertEquals(await c.send(BODY), { kind: "ok", status: 200 });
    assertEquals(seen[0].get("content-type"), "application/x-protobuf");
    assertEquals(seen[0].get("content-encoding"), "snappy");
    assertEquals(seen[0].get("user-agent"), "ferry/0.1.0");
    assertEquals(seen[0].get("x-prometheus-remote-write-version"), "0.1.0");
  } finally {
    await server.shutdown();
  }
});

Deno.test("client: authentication", async (t) => {
  const ok = () => new Response(null, { status: 204 });
  await t.step("basic auth with password", async () => {
    const { c, seen } = client(
      rwConfig("http://x/w", { basicAuth: { username: "ü", password: "p:w" } }),
      ok,
    );
    await c.send(BODY);
    const want = "Basic " + btoa(String.fromCharCode(...new TextEncoder().encode("ü:p:w")));
    assertEquals(seen[0].headers.get("authorization"), want);
  });
  await t.step("basic auth password file is read at send time", async () => {
    const file = await Deno.makeTempFile();
    try {
      await Deno.writeTextFile(file, "first\n");
      const { c, seen } = client(
        rwConfig("http://x/w", { basicAuth: { username: "u", passwordFile: file } }),
        ok,
      );
      await c.send(BODY);
      await Deno.writeTextFile(file, "second");
      await c.send(BODY);
      assertEquals(seen[0].headers.get("authorization"), "Basic " + btoa("u:first"));
      assertEquals(seen[1].headers.get("authorization"), "Basic " + btoa("u:second"));
    } finally {
      await Deno.remove(file);
    }
  });
  await t.step("authorization credentials and credentials file", async () => {
    const file = await Deno.makeTempFile();
    try {
      await Deno.writeTextFile(file, "tok-1\n");
      const a = client(
        rwConfig("http://x/w", { authorization: { type: "Bearer", credentials: "abc" } }),
        ok,
      );
      await a.c.send(BODY);
      assertEquals(a.seen[0].headers.get("authorization"), "Bearer abc");
      const b = client(
        rwConfig("http://x/w", {
          authorization: { type: "Custom", credentialsFile: file },
          headers: { Authorization: "user value loses" },
        }),
        ok,
      );
      await b.c.send(BODY);
      await Deno.writeTextFile(file, "tok-2");
      await b.c.send(BODY);
      assertEquals(b.seen[0].headers.get("authorization"), "Custom tok-1");
      assertEquals(b.seen[1].headers.get("authorization"), "Custom tok-2");
    } finally {
      await Deno.remove(file);
    }
  });
  await t.step("a missing credentials file is a recoverable error naming the file", async () => {
    const { c, seen } = client(
      rwConfig("http://x/w", {
        authorization: { type: "Bearer", credentialsFile: "/nonexistent/ferry-token" },
      }),
      ok,
    );
    const res = await c.send(BODY);
    assertEquals(res.kind, "recoverable");
    assert(res.kind === "recoverable" && res.error.includes("/nonexistent/ferry-token"), res.kind);
    assertEquals(seen.length, 0);
  });
  await t.step("URL credentials become basic auth and leave the URL", async () => {
    const { c, seen } = client(rwConfig("http://bob:s%40cret@x:9/w"), ok);
    assertEquals(c.displayUrl, "http://bob:xxxxx@x:9/w");
    await c.send(BODY);
    assertEquals(seen[0].url, "http://x:9/w");
    assertEquals(seen[0].headers.get("authorization"), "Basic " + btoa("bob:s@cret"));
  });
});

Deno.test("client: outcome classification", async (t) => {
  type Row = [
    string,
    () => Response,
    boolean,
    SendResult | { kind: string; status: number; retryAfterMs?: number },
  ];
  const r =
    (status: number, headers: Record<string, string> = {}, body: string | null = null) => () =>
      new Response(body, { status, headers });
  const inTen = new Date(NOW + 10_000).toUTCString();
  const past = new Date(NOW - 10_000).toUTCString();
  const table: Row[] = [
    ["200", r(200, {}, "ignored"), false, { kind: "ok", status: 200 }],
    ["204", r(204), false, { kind: "ok", status: 204 }],
    ["400", r(400, {}, "bad sample"), false, { kind: "permanent", status: 400 }],
    ["404", r(404), false, { kind: "permanent", status: 404 }],
    ["413", r(413), true, { kind: "permanent", status: 413 }],
    ["429 without retryOnHttp429", r(429, { "retry-after": "3" }), false, {
      kind: "permanent",
      status: 429,
    }],
    ["429 with retryOnHttp429, no Retry-After", r(429), true, { kind: "recoverable", status: 429 }],
    ["429 with Retry-After seconds", r(429, { "retry-after": "7" }), true, {
      kind: "recoverable",
      status: 429,
      retryAfterMs: 7000,
    }],
    ["429 with Retry-After HTTP-date", r(429, { "retry-after": inTen }), true, {
      kind: "recoverable",
      status: 429,
      retryAfterMs: 10_000,
    }],
    ["429 with Retry-After in the past", r(429, { "retry-after": past }), true, {
      kind: "recoverable",
      status: 429,
      retryAfterMs: 0,
    }],
    ["429 with garbage Retry-After", r(429, { "retry-after": "soon" }), true, {
      kind: "recoverable",
      status: 429,
    }],
    ["500", r(500, {}, "boom"), false, { kind: "recoverable", status: 500 }],
    ["503 with Retry-After", r(503, { "retry-after": "2" }), false, {
      kind: "recoverable",
      status: 503,
      retryAfterMs: 2000,
    }],
    ["302 not followed", r(302, { location: "/elsewhere" }), false, {
      kind: "permanent",
      status: 302,
    }],
  ];
  for (const [name, answer, retry429, want] of table) {
    await t.step(name, async () => {
      const { c } = client(
        rwConfig("http://x/w", { followRedirects: false, queue: { retryOnHttp429: retry429 } }),
        answer,
      );
      const res = await c.send(BODY);
      const got: Record<string, unknown> = { kind: res.kind, status: res.status };
      if (res.kind === "recoverable" && res.retryAfterMs !== undefined) {
        got.retryAfterMs = res.retryAfterMs;
      }
      assertEquals(got, want);
      if (res.kind !== "ok") assert(res.error.includes(`HTTP status ${res.status}`), res.error);
    });
  }

  await t.step("error message carries the first 512 bytes of the body", async () => {
    const { c } = client(rwConfig("http://x/w"), r(400, {}, "x".repeat(5000)));
    const res = await c.send(BODY);
    assert(res.kind === "permanent");
    assert(res.error.endsWith(": " + "x".repeat(512)), res.error.slice(-40));
  });

  await t.step("network error (connection refused) is recoverable", async () => {
    const srv = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      () => new Response(),
    );
    const port = srv.addr.port;
    await srv.shutdown();
    const c = new RemoteWriteClient(rwConfig(`http://127.0.0.1:${port}/w`), { version: "t" });
    const res = await c.send(BODY);
    assertEquals([res.kind, res.status], ["recoverable", 0]);
  });

  await t.step("fetch throwing is recoverable", async () => {
    const { c } = client(rwConfig("http://x/w"), () => {
      throw new TypeError("dns error");
    });
    const res = await c.send(BODY);
    assertEquals(res, { kind: "recoverable", status: 0, error: "dns error" });
  });

  await t.step("timeout is recoverable", async () => {
    const { c } = client(
      rwConfig("http://x/w", { remoteTimeoutMs: 20 }),
      (req) =>
        new Promise<Response>((_, reject) => {
          req.signal.addEventListener("abort", () => reject(req.signal.reason));
        }),
    );
    const res = await c.send(BODY);
    assertEquals(res, { kind: "recoverable", status: 0, error: "request timed out after 20ms" });
  });

  await t.step("abort by the caller", async () => {
    const ctl = new AbortController();
    const { c } = client(rwConfig("http://x/w"), (req) =>
      new Promise<Response>((_, reject) => {
        req.signal.addEventListener("abort", () => reject(req.signal.reason));
        ctl.abort();
      }));
    const res = await c.send(BODY, { signal: ctl.signal });
    assertEquals(res, { kind: "recoverable", status: 0, error: "aborted" });
  });
});

Deno.test("client: classifyStatus", async (t) => {
  const table: [number, boolean, string][] = [
    [200, false, "ok"],
    [204, false, "ok"],
    [299, false, "ok"],
    [100, false, "permanent"],
    [304, false, "permanent"],
    [400, false, "permanent"],
    [401, false, "permanent"],
    [404, false, "permanent"],
    [413, false, "permanent"],
    [429, false, "permanent"],
    [429, true, "recoverable"],
    [500, false, "recoverable"],
    [503, false, "recoverable"],
    [599, false, "recoverable"],
  ];
  for (const [status, retry, want] of table) {
    await t.step(`${status} retry429=${retry}`, () => {
      assertEquals(classifyStatus(status, retry), want);
    });
  }
});

Deno.test("client: parseRetryAfter and redactUrl", () => {
  assertEquals(parseRetryAfter(null, NOW), undefined);
  assertEquals(parseRetryAfter("", NOW), undefined);
  assertEquals(parseRetryAfter("0", NOW), 0);
  assertEquals(parseRetryAfter(" 120 ", NOW), 120_000);
  assertEquals(parseRetryAfter("-5", NOW), undefined);
  assertEquals(parseRetryAfter("1.5", NOW), undefined);
  assertEquals(parseRetryAfter("Fri, 21 Aug 2026 12:01:00 GMT", NOW), 60_000);
  assertEquals(redactUrl("https://u:p@h/x"), "https://u:xxxxx@h/x");
  assertEquals(redactUrl("https://h/x?a=b"), "https://h/x?a=b");
});

Deno.test("client: RW 2.0 protocol headers; user headers cannot override them", async () => {
  const config = rwConfig("http://x/w", {
    headers: { "Content-Type": "text/plain", "X-Prometheus-Remote-Write-Version": "0.1.0" },
  });
  const { c, seen } = client(config, () => new Response(null, { status: 204 }));
  await c.send(BODY, { protocol: "io.prometheus.write.v2.Request" });
  assertEquals(
    seen[0].headers.get("content-type"),
    "application/x-protobuf;proto=io.prometheus.write.v2.Request",
  );
  assertEquals(seen[0].headers.get("x-prometheus-remote-write-version"), "2.0.0");
  assertEquals(seen[0].headers.get("content-encoding"), "snappy");
  await c.send(BODY, { protocol: "prometheus.WriteRequest" });
  assertEquals(seen[1].headers.get("content-type"), "application/x-protobuf");
  assertEquals(seen[1].headers.get("x-prometheus-remote-write-version"), "0.1.0");
});

Deno.test("client: written counts from the response headers", async (t) => {
  const cases: [string, Record<string, string>, WrittenCounts | undefined][] = [
    ["none", {}, undefined],
    ["all three", {
      "X-Prometheus-Remote-Write-Samples-Written": "10",
      "X-Prometheus-Remote-Write-Histograms-Written": "2",
      "X-Prometheus-Remote-Write-Exemplars-Written": "1",
    }, { samples: 10, histograms: 2, exemplars: 1 }],
    ["one present: the others count 0", { "X-Prometheus-Remote-Write-Samples-Written": "7" }, {
      samples: 7,
      histograms: 0,
      exemplars: 0,
    }],
    ["unparsable counts 0", { "X-Prometheus-Remote-Write-Samples-Written": "lots" }, {
      samples: 0,
      histograms: 0,
      exemplars: 0,
    }],
  ];
  for (const [name, headers, want] of cases) {
    await t.step(name, async () => {
      const { c } = client(
        rwConfig("http://x/w"),
        () => new Response(null, { status: 204, headers }),
      );
      const res = await c.send(BODY);
      assert(res.kind === "ok");
      assertEquals(res.written, want);
      assertEquals(parseWritten(new Headers(headers)), want);
    });
  }
});

/** An oauth2 client-credentials config against a token URL the fake fetch answers. */
const OAUTH2 = {
  clientId: "id",
  clientSecret: "s3cret",
  clientSecretFile: "",
  scopes: [],
  tokenUrl: "http://auth.example/token",
  endpointParams: {},
  tlsConfig: { ca: "", caFile: "", cert: "", certFile: "", key: "", keyFile: "" },
  proxyUrl: "",
};

Deno.test("client: sigv4 signs the final body; oauth2 sends the fetched token", async (t) => {
  await t.step("sigv4", async () => {
    const { c, seen } = client(
      rwConfig(
        "https://aps-workspaces.us-east-1.amazonaws.com/workspaces/ws-1/api/v1/remote_write",
        {
          sigv4: {
            region: "us-east-1",
            accessKey: "AKIDEXAMPLE",
            secretKey: "secret",
            serviceName: "aps",
          },
        },
      ),
      () => new Response(null, { status: 204 }),
    );
    assertEquals((await c.send(BODY, { attempt: 1 })).kind, "ok");
    const h = seen[0].headers;
    assert(
      h.get("authorization")?.startsWith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"),
      String(h.get("authorization")),
    );
    assert(h.get("x-amz-date") !== null, "x-amz-date");
    // The protocol headers are among the signed ones.
    assert(h.get("authorization")!.includes("content-type"), String(h.get("authorization")));
  });
  await t.step("oauth2", async () => {
    const { c, seen } = client(
      rwConfig("http://x/w", {
        oauth2: OAUTH2,
      }),
      (req) =>
        req.url === "http://auth.example/token"
          ? Response.json({ access_token: "tok-1", token_type: "Bearer", expires_in: 3600 })
          : new Response(null, { status: 204 }),
    );
    assertEquals((await c.send(BODY)).kind, "ok");
    const write = seen.find((r) => r.url === "http://x/w")!;
    assertEquals(write.headers.get("authorization"), "Bearer tok-1");
  });
  await t.step("a 401 drops the token: the next request fetches a new one", async () => {
    let tokens = 0;
    const { c, seen } = client(
      rwConfig("http://x/w", {
        oauth2: OAUTH2,
      }),
      (req) => {
        if (req.url === "http://auth.example/token") {
          return Response.json({ access_token: `tok-${++tokens}`, expires_in: 3600 });
        }
        return new Response(null, {
          status: req.headers.get("authorization") === "Bearer tok-1" ? 401 : 204,
        });
      },
    );
    assertEquals((await c.send(BODY)).status, 401);
    assertEquals((await c.send(BODY)).kind, "ok");
    const writes = seen.filter((r) => r.url === "http://x/w");
    assertEquals(writes.map((r) => r.headers.get("authorization")), [
      "Bearer tok-1",
      "Bearer tok-2",
    ]);
  });
  await t.step("a failing token endpoint is a recoverable error", async () => {
    const { c } = client(
      rwConfig("http://x/w", {
        oauth2: OAUTH2,
      }),
      () => new Response("down", { status: 503 }),
    );
    const res = await c.send(BODY);
    assertEquals([res.kind, res.status], ["recoverable", 0]);
    assert(res.kind === "recoverable" && !res.error.includes("s3cret"), "no secret in errors");
  });
});

Deno.test("client: tls_config and proxy_url go through a Deno.HttpClient passed to fetch", async () => {
  const made: unknown[] = [];
  const fakeClient = { close() {} } as unknown as Deno.HttpClient;
  const seenInit: (RequestInit & { client?: Deno.HttpClient })[] = [];
  const f = ((_input: RequestInfo | URL, init?: RequestInit) => {
    seenInit.push(init as RequestInit & { client?: Deno.HttpClient });
    return Promise.resolve(new Response(null, { status: 204 }));
  }) as typeof fetch;
  const c = new RemoteWriteClient(
    rwConfig("https://x/w", { proxyUrl: "http://user:pw@proxy:3128" }),
    {
      version: "t",
      fetch: f,
      httpClient: {
        create: (o) => {
          made.push(o);
          return fakeClient;
        },
      },
    },
  );
  assertEquals((await c.send(BODY)).kind, "ok");
  assertEquals(seenInit[0].client, fakeClient);
  assertEquals(made, [{
    proxy: {
      transport: "http",
      url: "http://proxy:3128/",
      basicAuth: { username: "user", password: "pw" },
    },
  }]);
  c.close();
});

Deno.test("client: an unreadable CA file is a recoverable error naming the file", async () => {
  const { c } = client(
    rwConfig("https://x/w", {
      tlsConfig: {
        ca: "",
        caFile: "/nonexistent/ca.pem",
        cert: "",
        certFile: "",
        key: "",
        keyFile: "",
      },
    }),
    () => new Response(null, { status: 204 }),
  );
  const res = await c.send(BODY);
  assert(
    res.kind === "recoverable" && res.error.includes("/nonexistent/ca.pem"),
    JSON.stringify(res),
  );
});
