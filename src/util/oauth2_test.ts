import fc from "fast-check";
import type { ResolvedOAuth2 } from "../config/types.ts";
import { assert, assertEquals, assertRejects, assertStringIncludes } from "../testing/assert.ts";
import {
  EXPIRY_MARGIN_MS,
  formEncode,
  MAX_TOKEN_RESPONSE_BYTES,
  OAuth2TokenSource,
} from "./oauth2.ts";

const NO_TLS = { ca: "", caFile: "", cert: "", certFile: "", key: "", keyFile: "" };

function config(tokenUrl: string, extra: Partial<ResolvedOAuth2> = {}): ResolvedOAuth2 {
  return {
    clientId: "client id",
    clientSecret: "s3cr3t&+",
    clientSecretFile: "",
    scopes: [],
    tokenUrl,
    endpointParams: {},
    tlsConfig: NO_TLS,
    proxyUrl: "",
    ...extra,
  };
}

/** One token request as the server saw it. */
interface Seen {
  url: string;
  authorization: string | null;
  contentType: string | null;
  userAgent: string | null;
  form: Record<string, string>;
}

/**
 * A token server on 127.0.0.1: `respond` answers each request (after the
 * request is recorded in `seen`).
 */
async function tokenServer(
  respond: (s: Seen, n: number) => Response | Promise<Response>,
  fn: (url: string, seen: Seen[]) => Promise<void>,
): Promise<void> {
  const seen: Seen[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const s: Seen = {
      url: req.url,
      authorization: req.headers.get("authorization"),
      contentType: req.headers.get("content-type"),
      userAgent: req.headers.get("user-agent"),
      form: Object.fromEntries(new URLSearchParams(await req.text())),
    };
    seen.push(s);
    return await respond(s, seen.length);
  });
  try {
    await fn(`http://127.0.0.1:${server.addr.port}/oauth2/token`, seen);
  } finally {
    await server.shutdown();
  }
}

const json = (v: unknown, status = 200) =>
  new Response(JSON.stringify(v), { status, headers: { "Content-Type": "application/json" } });

/** `Basic base64(form(id):form(secret))`, as RFC 6749 §2.3.1 and Go send it. */
const basic = (id: string, secret: string) =>
  "Basic " + btoa(`${formEncode(id)}:${formEncode(secret)}`);

Deno.test("oauth2: client credentials in the header, scopes and endpoint params in the form", async () => {
  await tokenServer(
    (_s, n) => json({ access_token: `tok${n}`, token_type: "bearer", expires_in: 3600 }),
    async (url, seen) => {
      let now = 1_000_000;
      const src = new OAuth2TokenSource(
        config(url, { scopes: ["read", "write"], endpointParams: { audience: "rw" } }),
        { now: () => now },
      );
      try {
        assertEquals(await src.header({ userAgent: "ferry/test" }), "Bearer tok1");
        assertEquals(seen.length, 1);
        assertEquals(seen[0].authorization, basic("client id", "s3cr3t&+"));
        assertEquals(seen[0].authorization, "Basic Y2xpZW50K2lkOnMzY3IzdCUyNiUyQg==");
        assertEquals(seen[0].contentType, "application/x-www-form-urlencoded");
        assertEquals(seen[0].userAgent, "ferry/test");
        assertEquals(seen[0].form, {
          grant_type: "client_credentials",
          scope: "read write",
          audience: "rw",
        });
        // Cached until 10 s before it expires.
        now += 3600_000 - EXPIRY_MARGIN_MS - 1;
        assertEquals(await src.header(), "Bearer tok1");
        assertEquals(seen.length, 1);
        now += 1;
        assertEquals(await src.header(), "Bearer tok2");
        assertEquals(seen.length, 2);
        // invalidate() forces a new token.
        src.invalidate();
        assertEquals(await src.header(), "Bearer tok3");
      } finally {
        src.close();
      }
    },
  );
});

Deno.test("oauth2: concurrent requests share one token fetch", async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => release = r);
  await tokenServer(
    async (_s, n) => {
      await gate;
      return json({ access_token: `tok${n}`, expires_in: 60 });
    },
    async (url, seen) => {
      const src = new OAuth2TokenSource(config(url));
      const all = Promise.all([1, 2, 3, 4, 5].map(() => src.header()));
      await new Promise((r) => setTimeout(r, 20));
      release();
      assertEquals(await all, Array(5).fill("Bearer tok1"));
      assertEquals(seen.length, 1);
    },
  );
});

Deno.test("oauth2: a server that rejects header credentials gets them in the body (Go's auto-detection)", async () => {
  await tokenServer(
    (s, n) => {
      if (s.authorization !== null) return json({ error: "invalid_client" }, 401);
      if (s.form.client_id !== "client id" || s.form.client_secret !== "s3cr3t&+") {
        return json({ error: "invalid_client" }, 400);
      }
      return json({ access_token: `tok${n}`, expires_in: 1 });
    },
    async (url, seen) => {
      let now = 0;
      const src = new OAuth2TokenSource(config(url), { now: () => now });
      assertEquals(await src.header(), "Bearer tok2");
      assertEquals(seen.map((s) => s.authorization !== null), [true, false]);
      // expires_in 1 s is within the margin: every request fetches, straight in the body now.
      now += 1;
      assertEquals(await src.header(), "Bearer tok3");
      assertEquals(seen.length, 3);
      assertEquals(seen[2].authorization, null);
      assertEquals(seen[2].form.grant_type, "client_credentials");
    },
  );
});

Deno.test("oauth2: the secret file is read for every token fetch", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/secret`;
    await Deno.writeTextFile(file, "first\n");
    await tokenServer(
      (_s, n) => json({ access_token: `tok${n}`, expires_in: 100 }),
      async (url, seen) => {
        let now = 0;
        const src = new OAuth2TokenSource(
          config(url, { clientSecret: "", clientSecretFile: file }),
          { now: () => now },
        );
        await src.header();
        await Deno.writeTextFile(file, "rotated");
        await src.header(); // cached: no read, no fetch
        assertEquals(seen.length, 1);
        now += 100_000;
        await src.header();
        assertEquals(seen.map((s) => s.authorization), [
          basic("client id", "first"),
          basic("client id", "rotated"),
        ]);
        await Deno.remove(file);
        now += 100_000;
        await assertRejects(
          () => src.header(),
          Error,
          `oauth2: reading client_secret_file ${file}`,
        );
      },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("oauth2: token responses: JSON, form bodies, no expiry, token types", async () => {
  const responses: (() => Response)[] = [
    () =>
      new Response("access_token=formtok&token_type=mac&expires_in=30", {
        headers: { "Content-Type": "application/x-www-form-urlencoded; charset=utf-8" },
      }),
    () => json({ access_token: "forever" }),
  ];
  await tokenServer(
    (_s, n) => responses[n - 1](),
    async (url, seen) => {
      let now = 0;
      const src = new OAuth2TokenSource(config(url), { now: () => now });
      assertEquals(await src.header(), "MAC formtok");
      now += 30_000;
      assertEquals(await src.header(), "Bearer forever");
      now += 1e12;
      assertEquals(await src.header(), "Bearer forever", "no expires_in: kept");
      assertEquals(seen.length, 2);
    },
  );
});

Deno.test("oauth2: failures name the token URL and never the secret", async () => {
  const cases: [string, () => Response, string][] = [
    [
      "RFC 6749 error",
      () => json({ error: "invalid_scope", error_description: "no such scope" }, 400),
      "failed: HTTP 400: invalid_scope (no such scope)",
    ],
    [
      "echoed secret",
      () => new Response("bad credentials s3cr3t&+ for client id", { status: 500 }),
      "failed: HTTP 500: bad credentials <secret> for client id",
    ],
    [
      "not JSON",
      () => new Response("<html>", { headers: { "Content-Type": "text/html" } }),
      "is not JSON",
    ],
    // text/plain is read as a form (as Go does).
    ["plain text", () => new Response("<html>"), "has no access_token"],
    ["no token", () => json({ token_type: "bearer" }), "has no access_token"],
    ["array", () => json([1]), "is not a JSON object"],
  ];
  for (const [name, respond, want] of cases) {
    await tokenServer(respond, async (url) => {
      const src = new OAuth2TokenSource(config(url));
      const e = await assertRejects(() => src.header());
      assertStringIncludes((e as Error).message, url, name);
      assertStringIncludes((e as Error).message, want, name);
      assert(!(e as Error).message.includes("s3cr3t"), name);
    });
  }
  // Nothing listening.
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const closed = `http://127.0.0.1:${(probe.addr as Deno.NetAddr).port}/token`;
  probe.close();
  await assertRejects(
    () => new OAuth2TokenSource(config(closed)).header(),
    Error,
    `oauth2: token request to ${closed} failed: `,
  );
});

Deno.test("oauth2: a token request that hangs times out; a waiter's signal abandons only its wait", async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => release = r);
  await tokenServer(
    async () => {
      await gate;
      return json({ access_token: "late" });
    },
    async (url) => {
      await assertRejects(
        () => new OAuth2TokenSource(config(url), { timeoutMs: 50 }).header(),
        Error,
        `oauth2: token request to ${url} failed: timed out after 50 ms`,
      );
      const src = new OAuth2TokenSource(config(url));
      const ac = new AbortController();
      const aborted = src.header({ signal: ac.signal });
      const other = src.header();
      ac.abort(new Error("endpoint stopping"));
      await assertRejects(() => aborted, Error, "endpoint stopping");
      release();
      assertEquals(await other, "Bearer late");
    },
  );
});

Deno.test("oauth2: proxy_url routes the token request through the proxy", async () => {
  // The "proxy" answers itself: an absolute-form request for a host that does not exist proves it was used.
  await tokenServer(
    () => json({ access_token: "via-proxy" }),
    async (proxyTokenUrl, seen) => {
      const proxy = new URL(proxyTokenUrl).origin;
      const src = new OAuth2TokenSource(
        config("http://token.invalid/oauth2/token", { proxyUrl: proxy }),
      );
      try {
        assertEquals(await src.header(), "Bearer via-proxy");
        assertEquals(seen[0].url, "http://token.invalid/oauth2/token");
      } finally {
        src.close();
      }
    },
  );
});

Deno.test("oauth2: tls_config problems fail the token request with the reason", async () => {
  const src = new OAuth2TokenSource(
    config("https://127.0.0.1:1/token", {
      tlsConfig: { ...NO_TLS, caFile: "/nonexistent/ca.pem" },
    }),
  );
  try {
    await assertRejects(
      () => src.header(),
      Error,
      "oauth2: token endpoint https://127.0.0.1:1/token: tls_config: reading CA file /nonexistent/ca.pem",
    );
  } finally {
    src.close();
  }
});

Deno.test("oauth2: any token response body gives a token or a clear error", async () => {
  const body = fc.oneof(
    fc.string(),
    fc.json(),
    fc.record({
      access_token: fc.oneof(fc.string(), fc.integer(), fc.constant(null)),
      token_type: fc.oneof(fc.string(), fc.constant(undefined)),
      expires_in: fc.oneof(fc.integer(), fc.double(), fc.string(), fc.constant(null)),
    }).map((o) => JSON.stringify(o)),
  );
  const contentType = fc.constantFrom(
    "application/json",
    "application/x-www-form-urlencoded",
    "text/plain; charset=utf-8",
    "",
  );
  await fc.assert(
    fc.asyncProperty(
      body,
      contentType,
      fc.integer({ min: 200, max: 599 }),
      async (b, ct, status) => {
        const fakeFetch = (() =>
          Promise.resolve(
            new Response(status === 204 || status === 205 || status === 304 ? null : b, {
              status,
              headers: ct === "" ? {} : { "Content-Type": ct },
            }),
          )) as unknown as typeof fetch;
        const src = new OAuth2TokenSource(config("http://t.invalid/token"), { fetch: fakeFetch });
        try {
          const h = await src.header();
          assert(/^\S+ \S+$/.test(h), h);
        } catch (e) {
          assert(e instanceof Error, String(e));
          assert(e.message.startsWith("oauth2: "), e.message);
          assert(!e.message.includes("s3cr3t&+"), e.message);
        }
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("oauth2: a token response whose body never ends times out; an oversized one fails", async () => {
  const url = "http://127.0.0.1:9/token";
  // Headers arrive at once, the body never finishes.
  const stalled: typeof fetch = () =>
    Promise.resolve(
      new Response(
        new ReadableStream<Uint8Array>({
          start(c) {
            c.enqueue(new TextEncoder().encode('{"access_token":'));
          },
        }),
        { status: 200, headers: { "content-type": "application/json" } },
      ),
    );
  await assertRejects(
    () => new OAuth2TokenSource(config(url), { fetch: stalled, timeoutMs: 100 }).header(),
    Error,
    `oauth2: reading the token response from ${url}: timed out after 100 ms`,
  );
  const huge: typeof fetch = () =>
    Promise.resolve(new Response(new Uint8Array(MAX_TOKEN_RESPONSE_BYTES + 1), { status: 200 }));
  await assertRejects(
    () => new OAuth2TokenSource(config(url), { fetch: huge }).header(),
    Error,
    `larger than ${MAX_TOKEN_RESPONSE_BYTES} bytes`,
  );
});
