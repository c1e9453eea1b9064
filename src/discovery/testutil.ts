/**
 * Test helpers for discovery: a tiny authoritative DNS server on 127.0.0.1
 * (UDP, through `node:dgram`, which needs no unstable flag) that
 * `Deno.resolveDns` can be pointed at with `nameServer`.
 *
 * @module
 */

import { concatBytes } from "../util/body.ts";
import dgram from "node:dgram";

/** One answer record the test server gives. */
export type DnsRecord =
  | { type: "A"; address: string }
  | { type: "AAAA"; address: string }
  | { type: "SRV"; priority?: number; weight?: number; port: number; target: string }
  | { type: "MX"; preference?: number; exchange: string }
  | { type: "NS"; host: string }
  | { type: "CNAME"; host: string };

/** What the server answers for a name: records, or a failure code. */
export type DnsAnswer = DnsRecord[] | "NXDOMAIN" | "SERVFAIL" | "DROP";

const TYPE_CODES: Record<DnsRecord["type"], number> = {
  A: 1,
  NS: 2,
  CNAME: 5,
  MX: 15,
  AAAA: 28,
  SRV: 33,
};

/** A DNS server whose zone the test edits while it runs. */
export class TestDnsServer {
  readonly #sock: dgram.Socket;
  /** Lower-cased name without the trailing dot → answer. */
  readonly #zone = new Map<string, DnsAnswer>();
  /** Questions received, as `name TYPE`. */
  readonly queries: string[] = [];

  private constructor(sock: dgram.Socket) {
    this.#sock = sock;
    sock.on("message", (msg: Uint8Array, from: { port: number; address: string }) => {
      const reply = this.#answer(msg);
      if (reply) sock.send(reply, from.port, from.address);
    });
  }

  /** Starts a server on a free UDP port of 127.0.0.1. */
  static async start(): Promise<TestDnsServer> {
    const sock = dgram.createSocket("udp4");
    await new Promise<void>((resolve, reject) => {
      sock.once("error", reject);
      sock.bind(0, "127.0.0.1", () => resolve());
    });
    return new TestDnsServer(sock);
  }

  /** The `nameServer` option of `Deno.resolveDns`. */
  get nameServer(): { ipAddr: string; port: number } {
    return { ipAddr: "127.0.0.1", port: this.#sock.address().port };
  }

  /** Sets what `name` answers (for every query type; records of other types are left out). */
  set(name: string, answer: DnsAnswer): void {
    this.#zone.set(normal(name), answer);
  }

  /** Stops the server. */
  close(): Promise<void> {
    return new Promise((resolve) => this.#sock.close(() => resolve()));
  }

  #answer(msg: Uint8Array): Uint8Array | undefined {
    if (msg.length < 12) return undefined;
    // Question: labels, then type and class.
    let off = 12;
    const labels: string[] = [];
    while (off < msg.length && msg[off] !== 0) {
      const len = msg[off];
      labels.push(new TextDecoder().decode(msg.subarray(off + 1, off + 1 + len)));
      off += 1 + len;
    }
    off += 1;
    if (off + 4 > msg.length) return undefined;
    const qtype = (msg[off] << 8) | msg[off + 1];
    const question = msg.subarray(12, off + 4);
    const name = normal(labels.join("."));
    const typeName = Object.entries(TYPE_CODES).find(([, c]) => c === qtype)?.[0] ?? String(qtype);
    this.queries.push(`${name} ${typeName}`);

    const answer = this.#zone.get(name) ?? "NXDOMAIN";
    if (answer === "DROP") return undefined;
    let rcode = 0;
    const records: Uint8Array[] = [];
    if (answer === "NXDOMAIN") rcode = 3;
    else if (answer === "SERVFAIL") rcode = 2;
    else {
      for (const r of answer) {
        const code = TYPE_CODES[r.type];
        if (code !== qtype && r.type !== "CNAME") continue;
        records.push(record(labels, code, rdata(r)));
      }
    }
    const header = new Uint8Array(12);
    header[0] = msg[0];
    header[1] = msg[1];
    header[2] = 0x84 | (msg[2] & 0x01); // QR, AA, copy RD
    header[3] = 0x80 | rcode; // RA
    header[5] = 1; // QDCOUNT
    header[6] = records.length >> 8;
    header[7] = records.length & 0xff; // ANCOUNT
    return concatBytes([header, question, ...records]);
  }
}

function normal(name: string): string {
  return name.toLowerCase().replace(/\.$/, "");
}

function encodeName(name: string): Uint8Array {
  const parts = normal(name).split(".").filter((p) => p !== "");
  const out: number[] = [];
  for (const p of parts) {
    const b = new TextEncoder().encode(p);
    out.push(b.length, ...b);
  }
  out.push(0);
  return new Uint8Array(out);
}

function u16(n: number): number[] {
  return [(n >> 8) & 0xff, n & 0xff];
}

function rdata(r: DnsRecord): Uint8Array {
  switch (r.type) {
    case "A":
      return new Uint8Array(r.address.split(".").map(Number));
    case "AAAA":
      return ipv6Bytes(r.address);
    case "SRV":
      return concatBytes([
        new Uint8Array([...u16(r.priority ?? 10), ...u16(r.weight ?? 10), ...u16(r.port)]),
        encodeName(r.target),
      ]);
    case "MX":
      return concatBytes([new Uint8Array(u16(r.preference ?? 10)), encodeName(r.exchange)]);
    case "NS":
    case "CNAME":
      return encodeName(r.host);
  }
}

function record(labels: string[], type: number, data: Uint8Array): Uint8Array {
  return concatBytes([
    encodeName(labels.join(".")),
    new Uint8Array([...u16(type), ...u16(1), 0, 0, 0, 5, ...u16(data.length)]),
    data,
  ]);
}

function ipv6Bytes(addr: string): Uint8Array {
  const [head, tail] = addr.includes("::") ? addr.split("::") : [addr, undefined];
  const h = head === "" ? [] : head.split(":");
  const t = tail === undefined || tail === "" ? [] : tail.split(":");
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill("0"), ...t];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    const n = parseInt(g, 16);
    out[i * 2] = n >> 8;
    out[i * 2 + 1] = n & 0xff;
  });
  return out;
}

/** Polls `check` until it returns true; throws (with `what` and the last detail) after `timeoutMs`. */
export async function eventually(
  what: string,
  check: () => boolean | Promise<boolean>,
  opts: { timeoutMs?: number; everyMs?: number; detail?: () => string } = {},
): Promise<void> {
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, opts.everyMs ?? 20));
  }
  throw new Error(`timed out waiting for ${what}${opts.detail ? `: ${opts.detail()}` : ""}`);
}

/** Records what a discoverer reports. */
export class UpdateRecorder {
  readonly updates: {
    source: string;
    targets: Record<string, string>[];
    labels: Record<string, string>;
  }[][] = [];
  readonly update = (groups: UpdateRecorder["updates"][number]) => {
    this.updates.push(structuredClone(groups));
  };
  /** The `__address__` of every target of the latest update, sorted. */
  addresses(): string[] {
    const last = this.updates.at(-1) ?? [];
    return last.flatMap((g) => g.targets.map((t) => t.__address__)).sort();
  }
}
