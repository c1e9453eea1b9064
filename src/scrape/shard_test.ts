import { Labels } from "../model/labels.ts";
import { compileRules, hashMod, relabel } from "../relabel/relabel.ts";
import { rule } from "../relabel/testutil.ts";
import { assert, assertEquals } from "../testing/assert.ts";
import { describeShard, inShard, shardOf } from "./shard.ts";
import { populateLabels } from "./target.ts";
import { scrapeConfig } from "./testutil.ts";

// md5(address)[8..16] as a big-endian uint64, computed with Python's hashlib.
const KNOWN: [string, number, number, number][] = [
  // address, mod 3, mod 7, mod 1000003
  ["10.0.0.1:9100", 2, 2, 567900],
  ["10.0.0.2:9100", 0, 1, 492488],
  ["10.0.0.3:9100", 2, 5, 491231],
  ["node-1.example.com:9100", 0, 2, 534532],
  ["127.0.0.1:8080", 2, 4, 476832],
  ["", 1, 1, 692820],
  ["ferry-0.ferry:9095", 1, 5, 1077],
];

Deno.test("shardOf(): Prometheus' MD5 hashmod of the address (known values)", () => {
  for (const [addr, m3, m7, mBig] of KNOWN) {
    assertEquals(shardOf(addr, 3), m3, addr);
    assertEquals(shardOf(addr, 7), m7, addr);
    assertEquals(shardOf(addr, 1_000_003), mBig, addr);
    assertEquals(shardOf(addr, 1), 0);
    // The relabel package's hashmod is the one implementation.
    assertEquals(shardOf(addr, 3), hashMod(addr, 3));
  }
});

Deno.test("inShard() equals Prometheus' hashmod + keep pattern placed first in relabel_configs", () => {
  for (const total of [2, 3, 5]) {
    for (let index = 0; index < total; index++) {
      const rules = compileRules([
        rule({
          sourceLabels: ["__address__"],
          modulus: total,
          targetLabel: "__tmp_hash",
          action: "hashmod",
        }),
        rule({ sourceLabels: ["__tmp_hash"], regex: String(index), action: "keep" }),
      ]);
      for (let i = 0; i < 200; i++) {
        const addr = `10.${i >> 8}.${i & 255}.7:${9100 + (i % 3)}`;
        const kept = relabel(rules, Labels.fromObject({ __address__: addr })) !== null;
        assertEquals(inShard(addr, { index, total }), kept, `${addr} ${index}/${total}`);
      }
    }
  }
});

Deno.test("inShard(): every address is in exactly one shard; 300 addresses spread over 3", () => {
  const counts = [0, 0, 0];
  for (let i = 0; i < 300; i++) {
    const addr = `host-${i}.example:9100`;
    const owners = [0, 1, 2].filter((index) => inShard(addr, { index, total: 3 }));
    assertEquals(owners.length, 1, addr);
    counts[owners[0]]++;
  }
  // A sanity check of the spread, not a statistical test: each gets a fair share.
  for (const c of counts) assert(c >= 60 && c <= 140, `uneven spread ${counts}`);
  assert(inShard("anything:1", null));
  assert(inShard("anything:1", undefined));
  assert(inShard("anything:1", { index: 0, total: 1 }));
});

Deno.test("describeShard() names the 0-based shard and the count", () => {
  assertEquals(describeShard({ index: 1, total: 3 }), "shard 1 of 3");
});

Deno.test("populateLabels(): a target of another shard is dropped before relabeling, with the reason", () => {
  const cfg = scrapeConfig({ shard: { index: 0, total: 3 } });
  // A rule that would rewrite __address__ into shard 0: sharding uses the discovered address.
  const rules = compileRules([
    rule({ targetLabel: "__address__", replacement: "10.0.0.2:9100" }),
  ]);
  const other = populateLabels({ __address__: "10.0.0.1:9100" }, {}, cfg, rules);
  assertEquals(other.labels, null);
  assertEquals(other.targetLabels, null);
  assertEquals(other.error, undefined);
  assertEquals(other.droppedBy, "shard 2 of 3");
  assertEquals(other.discoveredLabels.get("__address__"), "10.0.0.1:9100");

  const mine = populateLabels({ __address__: "10.0.0.2:9100" }, {}, cfg, compileRules([]));
  assertEquals(mine.labels?.toString(), '{instance="10.0.0.2:9100", job="node"}');
  assertEquals(mine.droppedBy, undefined);

  // The group's __address__ counts when the target has none of its own (discovered labels).
  const fromGroup = populateLabels({}, { __address__: "10.0.0.2:9100" }, cfg, compileRules([]));
  assert(fromGroup.labels !== null);

  // Without sharding the target is kept; dropped by relabeling has no droppedBy.
  const plain = populateLabels({ __address__: "10.0.0.1:9100" }, {}, scrapeConfig(), rules);
  assert(plain.labels !== null);
  const drop = compileRules([rule({ action: "drop", sourceLabels: ["__address__"] })]);
  const byRule = populateLabels({ __address__: "10.0.0.1:9100" }, {}, scrapeConfig(), drop);
  assertEquals(byRule.labels, null);
  assertEquals("droppedBy" in byRule, false);
});
