/**
 * dns_sd against a real DNS server on 127.0.0.1 (testutil's TestDnsServer):
 * `Deno.resolveDns` itself is pointed at it with `nameServer`, no resolver is
 * faked.
 */

import type { DnsRecordType, ResolvedDnsSdConfig } from "../config/types.ts";
import { Registry } from "../metrics/registry.ts";
import { assertEquals, assertStringIncludes } from "../testing/assert.ts";
import { DnsDiscoverer } from "./dns.ts";
import { type DnsAnswer, TestDnsServer } from "./testutil.ts";
import type { DiscoveryResult } from "./types.ts";

async function withDns(fn: (dns: TestDnsServer) => Promise<void>): Promise<void> {
  const dns = await TestDnsServer.start();
  try {
    await fn(dns);
  } finally {
    await dns.close();
  }
}

function discoverer(
  dns: TestDnsServer,
  cfg: Partial<ResolvedDnsSdConfig> & { names: string[] },
  registry = new Registry(),
): DnsDiscoverer {
  return new DnsDiscoverer(
    { type: "SRV", port: 0, refreshIntervalMs: 30_000, ...cfg },
    { job: "d", registry, nameServer: dns.nameServer, timeoutMs: 300 },
  );
}

const once = (d: DnsDiscoverer): Promise<DiscoveryResult> =>
  d.discoverOnce(new AbortController().signal);

Deno.test("dns_sd: targets and __meta_dns_* labels per record type, as Prometheus sets them", async (t) => {
  await withDns(async (dns) => {
    dns.set("_node._tcp.example.com", [
      { type: "SRV", port: 9100, target: "node2.example.com" },
      { type: "SRV", port: 9101, target: "node1.example.com" },
    ]);
    dns.set("mail.example.com", [{ type: "MX", exchange: "mx1.example.com" }]);
    dns.set("zone.example.com", [{ type: "NS", host: "ns1.example.com" }]);
    dns.set("hosts.example.com", [
      { type: "A", address: "10.0.0.2" },
      { type: "A", address: "10.0.0.1" },
      { type: "AAAA", address: "2001:db8::7" },
    ]);

    const cases: [DnsRecordType, string, number, Record<string, string>[]][] = [
      ["SRV", "_node._tcp.example.com", 0, [
        {
          __address__: "node1.example.com:9101",
          __meta_dns_name: "_node._tcp.example.com",
          __meta_dns_srv_record_target: "node1.example.com.",
          __meta_dns_srv_record_port: "9101",
        },
        {
          __address__: "node2.example.com:9100",
          __meta_dns_name: "_node._tcp.example.com",
          __meta_dns_srv_record_target: "node2.example.com.",
          __meta_dns_srv_record_port: "9100",
        },
      ]],
      ["MX", "mail.example.com", 9100, [{
        __address__: "mx1.example.com:9100",
        __meta_dns_name: "mail.example.com",
        __meta_dns_mx_record_target: "mx1.example.com.",
      }]],
      ["NS", "zone.example.com", 9153, [{
        __address__: "ns1.example.com:9153",
        __meta_dns_name: "zone.example.com",
        __meta_dns_ns_record_target: "ns1.example.com.",
      }]],
      ["A", "hosts.example.com", 80, [
        { __address__: "10.0.0.1:80", __meta_dns_name: "hosts.example.com" },
        { __address__: "10.0.0.2:80", __meta_dns_name: "hosts.example.com" },
      ]],
      ["AAAA", "hosts.example.com", 80, [
        { __address__: "[2001:db8::7]:80", __meta_dns_name: "hosts.example.com" },
      ]],
    ];
    for (const [type, name, port, want] of cases) {
      await t.step(type, async () => {
        const r = await once(discoverer(dns, { names: [name], type, port }));
        assertEquals(r, { groups: [{ source: name, targets: want, labels: {} }], errors: [] });
      });
    }
    assertEquals(dns.queries.slice(0, 5), [
      "_node._tcp.example.com SRV",
      "mail.example.com MX",
      "zone.example.com NS",
      "hosts.example.com A",
      "hosts.example.com AAAA",
    ]);
  });
});

Deno.test("dns_sd: one group per name; a name without records is an empty group, not an error", async () => {
  await withDns(async (dns) => {
    dns.set("a.example.com", [{ type: "A", address: "10.0.0.1" }]);
    const registry = new Registry();
    const r = await once(
      discoverer(
        dns,
        { names: ["a.example.com", "nx.example.com"], type: "A", port: 80 },
        registry,
      ),
    );
    assertEquals(r.errors, []);
    assertEquals(r.groups.map((g) => [g.source, g.targets.length]), [
      ["a.example.com", 1],
      ["nx.example.com", 0],
    ]);
    assertStringIncludes(registry.expose(), "prometheus_sd_dns_lookups_total 2\n");
    assertStringIncludes(registry.expose(), "prometheus_sd_dns_lookup_failures_total 0\n");
  });
});

Deno.test("dns_sd: an unanswered lookup keeps the name's last targets and is counted", async () => {
  await withDns(async (dns) => {
    const registry = new Registry();
    const d = discoverer(dns, { names: ["a.example.com"], type: "A", port: 80 }, registry);
    dns.set("a.example.com", [{ type: "A", address: "10.0.0.1" }]);
    assertEquals((await once(d)).groups[0].targets.length, 1);
    dns.set("a.example.com", "DROP");
    const r = await once(d);
    assertEquals(r.groups[0].targets, [{
      __address__: "10.0.0.1:80",
      __meta_dns_name: "a.example.com",
    }]);
    assertEquals(r.errors, ["a.example.com (A): no answer within 300 ms"]);
    const m = registry.expose();
    assertStringIncludes(m, "prometheus_sd_dns_lookup_failures_total 1\n");
    assertStringIncludes(m, 'prometheus_sd_refresh_failures_total{config="d",mechanism="dns"} 1\n');
    assertStringIncludes(
      m,
      'prometheus_sd_refresh_duration_seconds_count{config="d",mechanism="dns"} 2\n',
    );
  });
});

Deno.test("dns_sd: SERVFAIL (which Deno reports like NXDOMAIN) drops targets only when a second refresh confirms", async () => {
  await withDns(async (dns) => {
    const d = discoverer(dns, { names: ["a.example.com"], type: "A", port: 80 });
    const steps: [DnsAnswer, number][] = [
      [[{ type: "A", address: "10.0.0.1" }], 1],
      ["SERVFAIL", 1], // one failure: kept
      [[{ type: "A", address: "10.0.0.1" }, { type: "A", address: "10.0.0.2" }], 2],
      ["NXDOMAIN", 2], // first "no records": kept
      ["NXDOMAIN", 0], // confirmed: gone
      ["NXDOMAIN", 0],
      [[{ type: "A", address: "10.0.0.3" }], 1],
    ];
    for (const [answer, want] of steps) {
      dns.set("a.example.com", answer);
      const r = await once(d);
      assertEquals(r.errors, []);
      assertEquals(r.groups[0].targets.length, want, `after ${JSON.stringify(answer)}`);
    }
  });
});
