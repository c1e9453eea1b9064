/**
 * Unit tests of the shared relabel rules, with ferry's `relabel()`: it applies
 * rules exactly as the agent does at scrape time. Run with `deno test` in the
 * repository's root.
 */

import { relabel } from "ferry";
import { inventoryJob } from "../lib/jobs.ts";
import { dropGoNoise, hostLabel, inventoryLabel, keepSiteHosts } from "../lib/relabel.ts";

function assertEquals(actual: unknown, expected: unknown, msg = ""): void {
  const [a, e] = [JSON.stringify(actual), JSON.stringify(expected)];
  if (a !== e) throw new Error(`${msg}${msg ? ": " : ""}expected ${e}, got ${a}`);
}

function assertThrows(fn: () => unknown, includes: string): void {
  try {
    fn();
  } catch (e) {
    if (!(e as Error).message.includes(includes)) {
      throw new Error(`expected an error with ${JSON.stringify(includes)}, got ${e}`);
    }
    return;
  }
  throw new Error("expected an error");
}

Deno.test("dropGoNoise drops go_* series and nothing else", () => {
  assertEquals(relabel(dropGoNoise, { __name__: "go_gc_duration_seconds", quantile: "0.5" }), null);
  assertEquals(relabel(dropGoNoise, { __name__: "go_goroutines" }), null);
  assertEquals(relabel(dropGoNoise, { __name__: "node_cpu_seconds_total", cpu: "0" }), {
    __name__: "node_cpu_seconds_total",
    cpu: "0",
  });
  // Regexes are anchored: a name that merely starts with "go" stays.
  assertEquals(relabel(dropGoNoise, { __name__: "gopher_total" }), { __name__: "gopher_total" });
});

Deno.test("inventoryLabel maps __meta_filepath to the inventory's name", () => {
  assertEquals(
    relabel(inventoryLabel, {
      __address__: "db1.paris.example.net:9100",
      __meta_filepath: "/srv/configs/inventory/hosts.json",
    }),
    {
      __address__: "db1.paris.example.net:9100",
      __meta_filepath: "/srv/configs/inventory/hosts.json",
      inventory: "hosts",
    },
  );
  // Not from file_sd: no label.
  assertEquals(relabel(inventoryLabel, { __address__: "a:1" }), { __address__: "a:1" });
});

Deno.test("hostLabel is the address without the port", () => {
  assertEquals(
    relabel(hostLabel, { __address__: "db1.paris.example.net:9100" })?.host,
    "db1.paris.example.net",
  );
  assertEquals(relabel(hostLabel, { __address__: "[2001:db8::1]:9100" })?.host, "2001:db8::1");
});

Deno.test("keepSiteHosts keeps only the site's hosts", () => {
  const berlin = keepSiteHosts("berlin");
  const kept = (address: string) => relabel(berlin, { __address__: address }) !== null;
  assertEquals(kept("db1.berlin.example.net:9100"), true);
  assertEquals(kept("db1.berlin.example.net"), true);
  assertEquals(kept("db1.paris.example.net:9100"), false);
  assertEquals(kept("berlin.example.net:9100"), false, "the site's domain itself is no host");
  assertEquals(kept("db1.berlin.example.net.evil.test:9100"), false, "anchored at the end");
  assertEquals(kept("db1.xberlin.example.net:9100"), false);
  assertThrows(() => keepSiteHosts("be.*"), "site name");
});

Deno.test("inventoryJob(site): a discovered target of another site is dropped", () => {
  const rules = inventoryJob("paris").relabelConfigs ?? [];
  const meta = { __meta_filepath: "inventory/hosts.json", role: "db" };
  assertEquals(relabel(rules, { __address__: "db1.berlin.example.net:9100", ...meta }), null);
  assertEquals(relabel(rules, { __address__: "db1.paris.example.net:9100", ...meta }), {
    __address__: "db1.paris.example.net:9100",
    __meta_filepath: "inventory/hosts.json",
    host: "db1.paris.example.net",
    inventory: "hosts",
    role: "db",
  });
});
