import { assertEquals } from "../testing/assert.ts";
import { loadConfig } from "../config/load.ts";
import { computePermissions, permissionFlags } from "./permissions.ts";

Deno.test("permissions cover oauth2 token endpoints, secret files and sigv4's environment", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-perms-" });
  try {
    const file = `${dir}/prometheus.yml`;
    await Deno.writeTextFile(
      file,
      `remote_write:
  - url: https://rw.example:9443/api/v1/write
    oauth2:
      client_id: agent
      client_secret_file: ${dir}/secret
      token_url: https://auth.example/token
  - url: https://aps-workspaces.us-east-1.amazonaws.com/workspaces/ws/api/v1/remote_write
    sigv4: {}
`,
    );
    const { config } = await loadConfig(file);
    const p = await computePermissions(config, {
      configFile: file,
      storagePath: `${dir}/data`,
      listenAddress: "",
    });
    assertEquals(
      p.net,
      [
        "auth.example:443",
        "aps-workspaces.us-east-1.amazonaws.com:443",
        "rw.example:9443",
      ].sort(),
    );
    assertEquals(p.read.includes(`${dir}/secret`) || p.read.includes(dir), true);
    assertEquals(p.env, [
      "AWS_ACCESS_KEY_ID",
      "AWS_DEFAULT_REGION",
      "AWS_REGION",
      "AWS_SECRET_ACCESS_KEY",
      "AWS_SESSION_TOKEN",
      "FERRY_REPLICA",
      "FERRY_SHARD_INDEX",
      "FERRY_SHARD_TOTAL",
    ]);
    assertEquals(
      permissionFlags(p).at(-1),
      "--allow-env=AWS_ACCESS_KEY_ID,AWS_DEFAULT_REGION,AWS_REGION,AWS_SECRET_ACCESS_KEY,AWS_SESSION_TOKEN,FERRY_REPLICA,FERRY_SHARD_INDEX,FERRY_SHARD_TOTAL",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("permissions always allow the sharding variables, and net covers every shard's targets", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-perms-" });
  try {
    const file = `${dir}/agent.config.ts`;
    const targets = Array.from({ length: 12 }, (_, i) => `10.0.0.${i + 1}:9100`);
    await Deno.writeTextFile(
      file,
      `export default ${
        JSON.stringify({
          shard: { index: 0, total: 3 },
          scrapeConfigs: [{ jobName: "node", staticConfigs: [{ targets }] }],
        })
      };\n`,
    );
    const { config } = await loadConfig(file);
    const p = await computePermissions(config, {
      configFile: file,
      storagePath: `${dir}/data`,
      listenAddress: "",
    });
    assertEquals(p.env, ["FERRY_REPLICA", "FERRY_SHARD_INDEX", "FERRY_SHARD_TOTAL"]);
    assertEquals(
      permissionFlags(p).at(-1),
      "--allow-env=FERRY_REPLICA,FERRY_SHARD_INDEX,FERRY_SHARD_TOTAL",
    );
    // --shard.index may choose another shard at run time: all targets are allowed.
    assertEquals(p.net, [...targets].sort());
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
