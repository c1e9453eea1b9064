import { assert, assertEquals, assertRejects } from "../testing/assert.ts";
import { authHeaders, authorizationHeader, basicAuthHeader, requestAuth } from "./httpauth.ts";

Deno.test("basic auth header encodes user:password as UTF-8 base64", () => {
  assertEquals(basicAuthHeader("user", "pass"), "Basic dXNlcjpwYXNz");
  assertEquals(basicAuthHeader("ü", "€"), "Basic w7w64oKs");
});

Deno.test("authorization header: inline, from files (re-read per request), none", async () => {
  const dir = await Deno.makeTempDir();
  try {
    assertEquals(await authorizationHeader({}), undefined);
    assertEquals(authHeaders({}), undefined);
    assertEquals(
      await authorizationHeader({ authorization: { type: "Bearer", credentials: "tok" } }),
      "Bearer tok",
    );
    await Deno.writeTextFile(`${dir}/pw`, "s3cret\n");
    const cfg = { basicAuth: { username: "u", passwordFile: `${dir}/pw` } };
    const h = authHeaders(cfg)!;
    assertEquals(await h(), { Authorization: basicAuthHeader("u", "s3cret") });
    await Deno.writeTextFile(`${dir}/pw`, "rotated");
    assertEquals(await h(), { Authorization: basicAuthHeader("u", "rotated") });
    await Deno.writeTextFile(`${dir}/tok`, "abc\n");
    assertEquals(
      await authorizationHeader({
        authorization: { type: "Custom", credentialsFile: `${dir}/tok` },
      }),
      "Custom abc",
    );
    await assertRejects(
      () =>
        authorizationHeader({
          authorization: { type: "Bearer", credentialsFile: `${dir}/missing` },
        }),
      Error,
      `reading credentials file ${dir}/missing`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

function request(ua?: string) {
  const headers = new Headers({ "Content-Type": "application/x-protobuf" });
  if (ua) headers.set("User-Agent", ua);
  return {
    method: "POST",
    url: new URL("https://rw.example/api/v1/write"),
    headers,
    body: new Uint8Array([1, 2, 3]),
  };
}

Deno.test("requestAuth(): none, basic_auth and authorization (files re-read per request)", async () => {
  assertEquals(requestAuth({}), undefined);
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/pw`, "one\n");
    const basic = requestAuth({ basicAuth: { username: "u", passwordFile: `${dir}/pw` } })!;
    const req = request();
    await basic.apply(req);
    assertEquals(req.headers.get("authorization"), basicAuthHeader("u", "one"));
    await Deno.writeTextFile(`${dir}/pw`, "two");
    await basic.apply(req);
    assertEquals(req.headers.get("authorization"), basicAuthHeader("u", "two"));

    const bearer = requestAuth({ authorization: { type: "Bearer", credentials: "tok" } })!;
    await bearer.apply(req);
    assertEquals(req.headers.get("authorization"), "Bearer tok");
    const custom = requestAuth({
      authorization: { type: "Custom", credentialsFile: `${dir}/missing` },
    })!;
    await assertRejects(() => custom.apply(request()), Error, "reading credentials file");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("requestAuth(): oauth2 fetches a token (with the request's User-Agent) and caches it", async () => {
  const seen: (string | null)[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    seen.push(req.headers.get("user-agent"));
    return Response.json({ access_token: `t${seen.length}`, expires_in: 3600 });
  });
  try {
    const tls = { ca: "", caFile: "", cert: "", certFile: "", key: "", keyFile: "" };
    const auth = requestAuth({
      oauth2: {
        clientId: "id",
        clientSecret: "secret",
        clientSecretFile: "",
        scopes: [],
        tokenUrl: `http://127.0.0.1:${server.addr.port}/token`,
        endpointParams: {},
        tlsConfig: tls,
        proxyUrl: "",
      },
    })!;
    const req = request("ferry/1.2.3");
    await auth.apply(req);
    await auth.apply(req);
    assertEquals(req.headers.get("authorization"), "Bearer t1");
    assertEquals(seen, ["ferry/1.2.3"]);
    auth.close?.();
  } finally {
    await server.shutdown();
  }
});

Deno.test("requestAuth(): sigv4 signs with the given clock and environment", async () => {
  const auth = requestAuth(
    { sigv4: { region: "", accessKey: "", secretKey: "", serviceName: "aps" } },
    {
      now: () => Date.UTC(2024, 0, 2, 3, 4, 5),
      env: (n) =>
        ({ AWS_ACCESS_KEY_ID: "AKID", AWS_SECRET_ACCESS_KEY: "s", AWS_REGION: "us-west-2" })[n],
    },
  )!;
  const req = request();
  await auth.apply(req);
  assertEquals(req.headers.get("x-amz-date"), "20240102T030405Z");
  const authz = req.headers.get("authorization")!;
  assert(
    authz.startsWith(
      "AWS4-HMAC-SHA256 Credential=AKID/20240102/us-west-2/aps/aws4_request, SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date, Signature=",
    ),
    authz,
  );
});
