import bcrypt from "bcryptjs";
import { assert, assertEquals, assertRejects, assertStringIncludes } from "../testing/assert.ts";
import { ConfigError } from "../config/errors.ts";
import { loadWebConfig, parseBasic, parseWebConfig, WebGuard } from "./webconfig.ts";

const TESTDATA = new URL("./testdata/", import.meta.url).pathname;
// Cost 4 keeps the tests fast; real configs use 10 or more.
const ALICE = bcrypt.hashSync("wonderland", 4);

function basic(user: string, password: string): Record<string, string> {
  return { authorization: `Basic ${btoa(`${user}:${password}`)}` };
}

async function errorOf(text: string): Promise<string> {
  const e = await assertRejects(() => parseWebConfig(text, "web.yml"), ConfigError);
  return e.message;
}

Deno.test("webconfig: an empty file means plain HTTP without authentication", async () => {
  const c = await parseWebConfig("", "web.yml");
  assertEquals(c, { tls: null, basicAuthUsers: new Map(), headers: {} });
});

Deno.test("webconfig: users, headers and TLS files relative to the web config", async () => {
  const c = await parseWebConfig(
    `tls_server_config:
  cert_file: web.crt
  key_file: web.key
  client_auth_type: NoClientCert
  min_version: TLS12
http_server_config:
  http2: true
  headers:
    x-frame-options: deny
    Strict-Transport-Security: max-age=31536000
basic_auth_users:
  alice: ${ALICE}
  bob: "$2y$10$hNf2lSsxfm0.i4a.1kVpSOVyBCfIB51VRjgBUyv6kdnyTlgWj81Ay"
`,
    `${TESTDATA}web.yml`,
  );
  assertStringIncludes(c.tls!.cert, "BEGIN CERTIFICATE");
  assertStringIncludes(c.tls!.key, "PRIVATE KEY");
  assertEquals([...c.basicAuthUsers.keys()], ["alice", "bob"]);
  assertEquals(c.headers, {
    "X-Frame-Options": "deny",
    "Strict-Transport-Security": "max-age=31536000",
  });
});

Deno.test("webconfig: what Deno's server cannot do is an error with a line number", async () => {
  const cases: [string, string][] = [
    [
      "tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: RequireAndVerifyClientCert\n",
      "web.yml:4:21: RequireAndVerifyClientCert is not supported",
    ],
    [
      "tls_server_config:\n  cert_file: a\n  key_file: b\n  client_ca_file: ca.pem\n",
      "web.yml:4:3: client_ca_file is not supported",
    ],
    [
      "tls_server_config:\n  cert_file: a\n  key_file: b\n  min_version: TLS13\n",
      "cannot raise the minimum",
    ],
    [
      "tls_server_config:\n  cert_file: a\n  key_file: b\n  cipher_suites: [TLS_AES_128_GCM_SHA256]\n",
      "cipher_suites is not supported",
    ],
    ["http_server_config:\n  http2: false\n", "web.yml:2:10: http2: false is not supported"],
    ["tls_server_config:\n  key_file: b\n", "missing cert_file"],
    [
      "basic_auth_users:\n  alice: secret\n",
      "web.yml:2:10: the password of alice must be a bcrypt hash",
    ],
    ["basic_auth_users:\n  'a:b': " + ALICE + "\n", "must not contain ':'"],
    ["http_server_config:\n  headers:\n    Set-Cookie: x\n", "header Set-Cookie cannot be set"],
    ["http_server_config:\n  headers:\n    X-Content-Type-Options: sniff\n", "invalid value"],
    ["basic_auth_user:\n  alice: x\n", 'web.yml:1:1: unknown field "basic_auth_user"'],
    ["tls_server_config: [\n", "web.yml:"],
    ["- a\n", "must be a mapping"],
  ];
  for (const [text, want] of cases) assertStringIncludes(await errorOf(text), want, text);
});

Deno.test("webconfig: unreadable or non-PEM TLS files are errors", async () => {
  const missing = await errorOf(
    "tls_server_config:\n  cert_file: /nonexistent.crt\n  key_file: /nonexistent.key\n",
  );
  assertStringIncludes(missing, "cannot read cert_file /nonexistent.crt");
  const e = await assertRejects(
    () => parseWebConfig("tls_server_config:\n  cert: hello\n  key: world\n", "web.yml"),
    ConfigError,
  );
  assertStringIncludes(e.message, "not PEM");
  await assertRejects(() => loadWebConfig("/nonexistent/web.yml"), ConfigError, "cannot read");
});

Deno.test("webconfig: basic auth guards every request; the right password passes", async () => {
  const config = await parseWebConfig(`basic_auth_users:\n  alice: ${ALICE}\n`, "web.yml");
  const guard = new WebGuard(config);
  const handler = guard.wrap(() => new Response("ok"));
  const get = (headers: Record<string, string> = {}) =>
    handler(new Request("http://x/-/healthy", { headers }));

  const none = await get();
  assertEquals(none.status, 401);
  assertEquals(none.headers.get("www-authenticate"), 'Basic realm="ferry"');
  assertEquals((await get(basic("alice", "wrong"))).status, 401);
  assertEquals((await get(basic("mallory", "wonderland"))).status, 401);
  assertEquals((await get({ authorization: "Bearer abc" })).status, 401);
  const ok = await get(basic("alice", "wonderland"));
  assertEquals(ok.status, 200);
  assertEquals(await ok.text(), "ok");
  // Cached: the same credentials pass again; another password still fails.
  assertEquals((await get(basic("alice", "wonderland"))).status, 200);
  assertEquals((await get(basic("alice", "wonderland!"))).status, 401);
});

Deno.test("webconfig: a verified password is remembered for a while, not forever", async () => {
  const config = await parseWebConfig(`basic_auth_users:\n  alice: ${ALICE}\n`, "web.yml");
  let now = 1_000_000;
  const guard = new WebGuard(config, { now: () => now });
  const req = () => new Request("http://x/", { headers: basic("alice", "wonderland") });
  assertEquals(await guard.authorize(req()), null);
  assertEquals(guard.comparisons, 1);
  assertEquals(await guard.authorize(req()), null);
  assertEquals(guard.comparisons, 1, "the second request used the cache");
  now += 61_000;
  assertEquals(await guard.authorize(req()), null);
  assertEquals(guard.comparisons, 2, "after the TTL bcrypt runs again");
});

Deno.test("webconfig: headers are added to every answer, 401s included", async () => {
  const config = await parseWebConfig(
    `http_server_config:\n  headers:\n    X-Content-Type-Options: nosniff\nbasic_auth_users:\n  alice: ${ALICE}\n`,
    "web.yml",
  );
  const handler = new WebGuard(config).wrap(() => new Response("ok"));
  const res = await handler(new Request("http://x/"));
  assertEquals(res.status, 401);
  assertEquals(res.headers.get("x-content-type-options"), "nosniff");
});

Deno.test("webconfig: the file is re-read when it changes; a broken edit keeps the last good one", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-webconfig-" });
  try {
    const file = `${dir}/web.yml`;
    await Deno.writeTextFile(file, `basic_auth_users:\n  alice: ${ALICE}\n`);
    let now = 1_000_000;
    const guard = new WebGuard(await loadWebConfig(file), { file, now: () => now });
    const handler = guard.wrap(() => new Response("ok"));
    const as = (u: string, p: string) =>
      handler(new Request("http://x/", { headers: basic(u, p) }));
    assertEquals((await as("alice", "wonderland")).status, 200);

    const bob = bcrypt.hashSync("builder", 4);
    await Deno.writeTextFile(file, `basic_auth_users:\n  bob: ${bob}\n`);
    await Deno.utime(file, new Date(), new Date(Date.now() + 5000));
    now += 1500;
    assertEquals((await as("bob", "builder")).status, 200);
    assertEquals((await as("alice", "wonderland")).status, 401, "removed users are out at once");

    await Deno.writeTextFile(file, "basic_auth_users: [\n");
    await Deno.utime(file, new Date(), new Date(Date.now() + 10_000));
    now += 1500;
    assertEquals((await as("bob", "builder")).status, 200, "the last good config stays");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("webconfig: HTTPS with the configured certificate", async () => {
  const config = await parseWebConfig(
    "tls_server_config:\n  cert_file: web.crt\n  key_file: web.key\n",
    `${TESTDATA}web.yml`,
  );
  const ac = new AbortController();
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    signal: ac.signal,
    onListen: () => {},
    cert: config.tls!.cert,
    key: config.tls!.key,
  }, () => new Response("secure"));
  const client = Deno.createHttpClient({ caCerts: [await Deno.readTextFile(`${TESTDATA}ca.crt`)] });
  try {
    const res = await fetch(`https://127.0.0.1:${server.addr.port}/`, { client });
    assertEquals(await res.text(), "secure");
  } finally {
    client.close();
    ac.abort();
    await server.finished;
  }
});

Deno.test("webconfig: parseBasic", () => {
  assertEquals(parseBasic(`Basic ${btoa("a:b:c")}`), { user: "a", password: "b:c" });
  assertEquals(parseBasic(`basic ${btoa("a:")}`), { user: "a", password: "" });
  assertEquals(parseBasic(`Basic ${btoa("nocolon")}`), null);
  assertEquals(parseBasic("Basic !!!"), null);
  assertEquals(parseBasic(null), null);
  assert(parseBasic(`Basic ${btoa("\xff:x")}`) === null, "not UTF-8");
});
