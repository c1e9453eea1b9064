import { assertEquals, assertRejects } from "../testing/assert.ts";
import { authHeaders, authorizationHeader, basicAuthHeader } from "./httpauth.ts";

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
