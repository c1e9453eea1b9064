import { assert, assertEquals, assertRejects } from "../testing/assert.ts";
import { awsUriEncode, canonicalPath, formatAmzDate, signV4, SigV4Auth } from "./sigv4.ts";
import { sha256Hex } from "./hash.ts";

const encoder = new TextEncoder();
const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/** The example credentials of AWS's Signature Version 4 test suite. */
const SUITE_CREDENTIALS = {
  accessKeyId: "AKIDEXAMPLE",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
};
const SUITE_DATE = new Date("2015-08-30T12:36:00Z");
const SUITE_HOST = "example.amazonaws.com";
const SESSION_TOKEN =
  "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==";

interface Vector {
  name: string;
  method: string;
  path: string;
  query?: [string, string][];
  /** Besides host and x-amz-date. */
  headers?: [string, string][];
  body?: string;
  signedHeaders: string;
  signature: string;
}

/**
 * Cases of AWS's Signature Version 4 test suite (us-east-1, service
 * "service", 2015-08-30T12:36:00Z) with their published signatures.
 */
const VECTORS: Vector[] = [
  {
    name: "get-vanilla",
    method: "GET",
    path: "/",
    signedHeaders: "host;x-amz-date",
    signature: "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
  },
  {
    name: "post-vanilla",
    method: "POST",
    path: "/",
    signedHeaders: "host;x-amz-date",
    signature: "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
  },
  {
    name: "get-vanilla-query-order-key-case",
    method: "GET",
    path: "/",
    query: [["Param2", "value2"], ["Param1", "value1"]],
    signedHeaders: "host;x-amz-date",
    signature: "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
  },
  {
    name: "get-vanilla-empty-query-key",
    method: "GET",
    path: "/",
    query: [["Param1", "value1"]],
    signedHeaders: "host;x-amz-date",
    signature: "a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb",
  },
  {
    name: "get-vanilla-query-unreserved",
    method: "GET",
    path: "/",
    query: [[
      "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
      "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
    ]],
    signedHeaders: "host;x-amz-date",
    signature: "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197",
  },
  {
    name: "get-vanilla-utf8-query",
    method: "GET",
    path: "/",
    query: [["ሴ", "bar"]],
    signedHeaders: "host;x-amz-date",
    signature: "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04",
  },
  {
    name: "post-vanilla-query-nonunreserved",
    method: "POST",
    path: "/",
    query: [["@#$%^", ""], ["+", '/,?><`";:\\|][{}']],
    signedHeaders: "host;x-amz-date",
    signature: "66c82657c86e26fb25238d0e69f011edc4c6df5ae71119d7cb98ed9b87393c1e",
  },
  {
    name: "get-unreserved",
    method: "GET",
    path: "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
    signedHeaders: "host;x-amz-date",
    signature: "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f",
  },
  {
    name: "get-utf8",
    method: "GET",
    path: "/ሴ",
    signedHeaders: "host;x-amz-date",
    signature: "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85",
  },
  {
    name: "get-header-value-trim",
    method: "GET",
    path: "/",
    headers: [["My-Header1", " value1"], ["My-Header2", ' "a   b   c"']],
    signedHeaders: "host;my-header1;my-header2;x-amz-date",
    signature: "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736",
  },
  {
    name: "get-header-key-duplicate",
    method: "GET",
    path: "/",
    headers: [["My-Header1", "value2"], ["My-Header1", "value2"], ["My-Header1", "value1"]],
    signedHeaders: "host;my-header1;x-amz-date",
    signature: "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea",
  },
  {
    name: "get-header-value-order",
    method: "GET",
    path: "/",
    headers: [
      ["My-Header1", "value4"],
      ["My-Header1", "value1"],
      ["My-Header1", "value3"],
      ["My-Header1", "value2"],
    ],
    signedHeaders: "host;my-header1;x-amz-date",
    signature: "08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01",
  },
  {
    name: "post-header-key-sort",
    method: "POST",
    path: "/",
    headers: [["My-Header1", "value1"]],
    signedHeaders: "host;my-header1;x-amz-date",
    signature: "c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c",
  },
  {
    name: "post-header-value-case",
    method: "POST",
    path: "/",
    headers: [["My-Header1", "VALUE1"]],
    signedHeaders: "host;my-header1;x-amz-date",
    signature: "cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d",
  },
  {
    name: "post-sts-header-before",
    method: "POST",
    path: "/",
    headers: [["X-Amz-Security-Token", SESSION_TOKEN]],
    signedHeaders: "host;x-amz-date;x-amz-security-token",
    signature: "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead",
  },
  {
    name: "post-x-www-form-urlencoded",
    method: "POST",
    path: "/",
    headers: [["Content-Type", "application/x-www-form-urlencoded"]],
    body: "Param1=value1",
    signedHeaders: "content-type;host;x-amz-date",
    signature: "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a",
  },
  {
    name: "post-x-www-form-urlencoded-parameters",
    method: "POST",
    path: "/",
    headers: [["Content-Type", "application/x-www-form-urlencoded; charset=utf8"]],
    body: "Param1=value1",
    signedHeaders: "content-type;host;x-amz-date",
    signature: "1a72ec8f64bd914b0e42e42607c7fbce7fb2c7465f63e3092b3b0d39fa77a6fe",
  },
];

Deno.test("signV4() reproduces AWS's Signature Version 4 test suite", async (t) => {
  for (const v of VECTORS) {
    await t.step(v.name, async () => {
      const got = await signV4(
        {
          method: v.method,
          path: v.path,
          query: v.query ?? [],
          headers: [
            ["Host", SUITE_HOST],
            ["X-Amz-Date", "20150830T123600Z"],
            ...(v.headers ?? []),
          ],
          payloadHash: await sha256Hex(encoder.encode(v.body ?? "")),
        },
        {
          credentials: SUITE_CREDENTIALS,
          region: "us-east-1",
          service: "service",
          date: SUITE_DATE,
        },
      );
      assertEquals(
        got.authorization,
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, " +
          `SignedHeaders=${v.signedHeaders}, Signature=${v.signature}`,
      );
    });
  }
});

Deno.test("signV4(): get-vanilla's canonical request and string to sign, as published", async () => {
  const got = await signV4(
    {
      method: "GET",
      path: "/",
      query: [],
      headers: [["host", SUITE_HOST], ["x-amz-date", "20150830T123600Z"]],
      payloadHash: EMPTY_SHA256,
    },
    { credentials: SUITE_CREDENTIALS, region: "us-east-1", service: "service", date: SUITE_DATE },
  );
  assertEquals(
    got.canonicalRequest,
    `GET\n/\n\nhost:${SUITE_HOST}\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n${EMPTY_SHA256}`,
  );
  assertEquals(
    got.stringToSign,
    "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n" +
      "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
  );
});

Deno.test("signV4() normalizes paths as the 2011 suite's normalize-path cases", async (t) => {
  // The earlier suite: service "host", signed Date and Host headers.
  const cases: [string, string, string][] = [
    ["get-slashes", "//foo//", "b00392262853cfe3201e47ccf945601079e9b8a7f51ee4c3d9ee4f187aa9bf19"],
    [
      "get-relative-relative",
      "/foo/bar/../..",
      "b27ccfbfa7df52a200ff74193ca6e32d4b48b8856fab7ebf1c595d0670a7e470",
    ],
    [
      "get-slash-pointless-dot",
      "/./foo",
      "910e4d6c9abafaf87898e1eb4c929135782ea25bb0279703146455745391e63a",
    ],
  ];
  for (const [name, path, signature] of cases) {
    await t.step(name, async () => {
      const got = await signV4(
        {
          method: "GET",
          path,
          query: [],
          headers: [["Date", "Mon, 09 Sep 2011 23:36:00 GMT"], ["Host", "host.foo.com"]],
          payloadHash: EMPTY_SHA256,
        },
        {
          credentials: SUITE_CREDENTIALS,
          region: "us-east-1",
          service: "host",
          date: new Date("2011-09-09T23:36:00Z"),
        },
      );
      assertEquals(got.signature, signature);
    });
  }
});

Deno.test("canonicalPath(): segments encoded once more than on the wire, except for S3", () => {
  assertEquals(canonicalPath("", "aps"), "/");
  assertEquals(
    canonicalPath("/workspaces/ws-1/api/v1/remote_write", "aps"),
    "/workspaces/ws-1/api/v1/remote_write",
  );
  // What a URL object sends for "/a b/ሴ" is "/a%20b/%E1%88%B4"; AWS encodes that again.
  assertEquals(
    canonicalPath(new URL("https://h/a b/ሴ").pathname, "aps"),
    "/a%2520b/%25E1%2588%25B4",
  );
  assertEquals(canonicalPath("/a//b/./c/../d/", "aps"), "/a/b/d/");
  assertEquals(canonicalPath("/a//b/", "s3"), "/a//b/");
  assertEquals(awsUriEncode("a/b c+~", true), "a/b%20c%2B~");
  assertEquals(awsUriEncode("a/b"), "a%2Fb");
  assertEquals(formatAmzDate(new Date(Date.UTC(2024, 1, 29, 1, 2, 3, 456))), "20240229T010203Z");
});

const FIXED_NOW = Date.UTC(2015, 7, 30, 12, 36, 0);

function rwRequest(body = "hello") {
  return {
    method: "POST",
    url: new URL(
      "https://aps-workspaces.us-east-1.amazonaws.com/workspaces/ws-1/api/v1/remote_write",
    ),
    headers: new Headers({
      "Content-Type": "application/x-protobuf",
      "Content-Encoding": "snappy",
      "X-Prometheus-Remote-Write-Version": "0.1.0",
      "User-Agent": "ferry/0.1.0",
    }),
    body: encoder.encode(body),
  };
}

Deno.test("SigV4Auth signs a remote-write request as the suite's algorithm does", async () => {
  const auth = new SigV4Auth(
    {
      region: "us-east-1",
      accessKey: "AKIDEXAMPLE",
      secretKey: SUITE_CREDENTIALS.secretAccessKey,
      serviceName: "aps",
    },
    { now: () => FIXED_NOW, env: () => undefined },
  );
  const req = rwRequest();
  await auth.apply(req);
  const h = req.headers;
  const bodyHash = await sha256Hex(encoder.encode("hello"));
  assertEquals(h.get("x-amz-date"), "20150830T123600Z");
  assertEquals(h.get("x-amz-content-sha256"), bodyHash);
  assertEquals(h.get("x-amz-security-token"), null);
  // Independently recomputed over the headers that must be signed (not User-Agent).
  const want = await signV4(
    {
      method: "POST",
      path: "/workspaces/ws-1/api/v1/remote_write",
      query: [],
      headers: [
        ["host", "aps-workspaces.us-east-1.amazonaws.com"],
        ["content-encoding", "snappy"],
        ["content-type", "application/x-protobuf"],
        ["x-amz-content-sha256", bodyHash],
        ["x-amz-date", "20150830T123600Z"],
        ["x-prometheus-remote-write-version", "0.1.0"],
      ],
      payloadHash: bodyHash,
    },
    { credentials: SUITE_CREDENTIALS, region: "us-east-1", service: "aps", date: SUITE_DATE },
  );
  assertEquals(h.get("authorization"), want.authorization);
  assert(
    want.authorization.includes(
      "Credential=AKIDEXAMPLE/20150830/us-east-1/aps/aws4_request, SignedHeaders=content-encoding;content-type;host;x-amz-content-sha256;x-amz-date;x-prometheus-remote-write-version,",
    ),
    want.authorization,
  );
  // A different body, another signature; signing again replaces the headers.
  const other = rwRequest("other");
  await auth.apply(other);
  assert(other.headers.get("authorization") !== h.get("authorization"));
  await auth.apply(req);
  assertEquals(req.headers.get("authorization"), want.authorization);
});

Deno.test("SigV4Auth reads credentials and region from the AWS_* environment", async () => {
  const env: Record<string, string> = {
    AWS_ACCESS_KEY_ID: "AKIDENV",
    AWS_SECRET_ACCESS_KEY: "envsecret",
    AWS_SESSION_TOKEN: "tok",
    AWS_DEFAULT_REGION: "eu-west-1",
  };
  const auth = new SigV4Auth(
    { region: "", accessKey: "", secretKey: "", serviceName: "aps" },
    { now: () => FIXED_NOW, env: (n) => env[n] },
  );
  const req = rwRequest();
  await auth.apply(req);
  assertEquals(req.headers.get("x-amz-security-token"), "tok");
  const authz = req.headers.get("authorization")!;
  assert(
    authz.startsWith("AWS4-HMAC-SHA256 Credential=AKIDENV/20150830/eu-west-1/aps/aws4_request, "),
    authz,
  );
  assert(authz.includes(";x-amz-security-token;"), authz);
  env.AWS_REGION = "ap-south-1";
  await auth.apply(req);
  assert(req.headers.get("authorization")!.includes("/ap-south-1/aps/"), "AWS_REGION wins");
  // Keys in the config: the environment's keys and token are not used.
  const fromConfig = new SigV4Auth(
    { region: "us-east-2", accessKey: "AKIDCFG", secretKey: "s", serviceName: "execute-api" },
    { now: () => FIXED_NOW, env: (n) => env[n] },
  );
  await fromConfig.apply(req);
  assertEquals(req.headers.get("x-amz-security-token"), null);
  assert(
    req.headers.get("authorization")!.includes(
      "Credential=AKIDCFG/20150830/us-east-2/execute-api/",
    ),
  );
});

Deno.test("SigV4Auth explains missing credentials, region and environment access", async () => {
  const cfg = { region: "", accessKey: "", secretKey: "", serviceName: "aps" };
  await assertRejects(
    () => new SigV4Auth(cfg, { env: () => undefined }).apply(rwRequest()),
    Error,
    "sigv4: no AWS credentials: give access_key and secret_key, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
  );
  await assertRejects(
    () =>
      new SigV4Auth({ ...cfg, accessKey: "a", secretKey: "b" }, { env: () => undefined }).apply(
        rwRequest(),
      ),
    Error,
    "sigv4: no AWS region: give region, or set AWS_REGION in ferry's environment",
  );
  const denied = () => {
    throw new Deno.errors.NotCapable('Requires env access to "AWS_ACCESS_KEY_ID"');
  };
  await assertRejects(
    () => new SigV4Auth(cfg, { env: denied }).apply(rwRequest()),
    Error,
    'sigv4: cannot read AWS_ACCESS_KEY_ID from the environment (Requires env access to "AWS_ACCESS_KEY_ID"); run ferry with --allow-env=AWS_ACCESS_KEY_ID,AWS_SECRET_ACCESS_KEY,AWS_SESSION_TOKEN,AWS_REGION,AWS_DEFAULT_REGION',
  );
  // With everything in the config the environment is never read.
  const req = rwRequest();
  await new SigV4Auth({ region: "r", accessKey: "a", secretKey: "b", serviceName: "aps" }, {
    env: denied,
  }).apply(req);
  assert(req.headers.get("authorization")!.startsWith("AWS4-HMAC-SHA256 Credential=a/"));
});
