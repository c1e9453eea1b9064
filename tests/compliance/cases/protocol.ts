/**
 * Port of remotewrite/sender/protocol_test.go (TestProtocolCompliance,
 * TestHTTPMethod): the RW 2.0 request headers and body format, checked on
 * every request.
 *
 * @module
 */

import { type Captured, check, CT_V2, type JobCase, type JobView } from "../harness.ts";
import { decodedV2 } from "./symbols.ts";

/** `fn` holds for every request that carried the case's series. */
function everyRequest(fn: (r: Captured) => void): (v: JobView) => void {
  return (v) => {
    const reqs = v.requests;
    check(reqs.length > 0, "no request carried this case's series");
    for (const r of reqs) fn(r);
  };
}

const header = (r: Captured, name: string) => r.headers.get(name) ?? "";

export const protocolCases: JobCase[] = [
  {
    name: "protocol_test.go: content_type_protobuf",
    level: "MUST",
    exposition: "test_metric 42\n",
    check: everyRequest((r) =>
      check(
        header(r, "content-type").includes("application/x-protobuf"),
        `Content-Type ${header(r, "content-type")}`,
      )
    ),
  },
  {
    name: "protocol_test.go: content_type_with_proto_param",
    level: "SHOULD",
    exposition: "test_metric 42\n",
    check: everyRequest((r) =>
      check(
        header(r, "content-type") === CT_V2,
        `Content-Type ${JSON.stringify(header(r, "content-type"))}`,
      )
    ),
  },
  {
    name: "protocol_test.go: content_encoding_snappy",
    level: "MUST",
    exposition: "test_metric 42\n",
    check: everyRequest((r) =>
      check(header(r, "content-encoding") === "snappy", "Content-Encoding is not snappy")
    ),
  },
  {
    name: "protocol_test.go: version_header_present",
    level: "MUST",
    exposition: "test_metric 42\n",
    check: everyRequest((r) =>
      check(
        header(r, "x-prometheus-remote-write-version") !== "",
        "no X-Prometheus-Remote-Write-Version",
      )
    ),
  },
  {
    name: "protocol_test.go: version_header_value",
    level: "SHOULD",
    exposition: "test_metric 42\n",
    check: everyRequest((r) => {
      const v = header(r, "x-prometheus-remote-write-version");
      check(v === "2.0.0", `X-Prometheus-Remote-Write-Version ${JSON.stringify(v)}, want 2.0.0`);
    }),
  },
  {
    name: "protocol_test.go: user_agent_present",
    level: "MUST",
    exposition: "test_metric 42\n",
    check: everyRequest((r) => {
      const ua = header(r, "user-agent");
      check(/^ferry\/\S+/.test(ua), `User-Agent ${JSON.stringify(ua)}, want ferry/<version>`);
    }),
  },
  {
    name: "protocol_test.go: snappy_block_format",
    level: "MUST",
    exposition: "test_metric 42\n",
    check: everyRequest((r) => {
      const framed = [0xff, 0x06, 0x00, 0x00, 0x73, 0x4e, 0x61, 0x50, 0x50, 0x59];
      check(r.body.length > 0, "empty body");
      check(!framed.every((b, i) => r.body[i] === b), "snappy framed format");
      check(r.error === "", `body is not a snappy block of a protobuf: ${r.error}`);
    }),
  },
  {
    name: "protocol_test.go: protobuf_parseable",
    level: "MUST",
    exposition: "test_metric 42\n",
    check: (v) => {
      for (const r of decodedV2(v)) {
        check(r.decoded!.symbols.length > 0, `request #${r.n}: no symbols`);
      }
    },
  },
  {
    name: "protocol_test.go: TestHTTPMethod",
    level: "MUST",
    exposition: "test_metric 42\n",
    check: everyRequest((r) => check(r.method === "POST", `method ${r.method}`)),
  },
];
