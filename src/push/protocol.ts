/**
 * The HTTP side of receiving pushes, shared by the agent's push endpoints
 * (`src/push/handler.ts`) and the debug receiver (`ferry receive`): picking
 * the Remote Write protocol or the exposition format from `Content-Type`,
 * reading a bounded body, decoding a RW request, and the RW 2.0
 * `X-Prometheus-Remote-Write-*-Written` answer headers.
 *
 * @module
 */

import { readCappedBytes } from "../util/body.ts";
import {
  checkLabels,
  CodecError,
  type DecodedWriteRequest,
  decodeWriteRequest,
  decodeWriteRequestV2,
  DEFAULT_MAX_DECODED_BYTES,
  snappyDecode,
} from "../remote/codec.ts";
import type { ScrapeProtocol } from "../config/types.ts";
import { quote } from "../model/labels.ts";

/** The RW 1.0 `proto` parameter of Content-Type. */
export const PROTO_V1 = "prometheus.WriteRequest";
/** The RW 2.0 `proto` parameter of Content-Type. */
export const PROTO_V2 = "io.prometheus.write.v2.Request";

/** Largest request body accepted by default (compressed, for RW). */
export const DEFAULT_MAX_BODY_BYTES = 16 << 20;

/** Response headers with what a RW 2.0 receiver wrote. */
export const WRITTEN = {
  samples: "X-Prometheus-Remote-Write-Samples-Written",
  histograms: "X-Prometheus-Remote-Write-Histograms-Written",
  exemplars: "X-Prometheus-Remote-Write-Exemplars-Written",
} as const;

/** Counts of what a request wrote. */
export interface WrittenCounts {
  samples: number;
  histograms: number;
  exemplars: number;
}

/** Sets the three RW 2.0 `…-Written` headers. */
export function setWritten(h: Headers, n: WrittenCounts): void {
  h.set(WRITTEN.samples, String(n.samples));
  h.set(WRITTEN.histograms, String(n.histograms));
  h.set(WRITTEN.exemplars, String(n.exemplars));
}

/**
 * The protocol a Content-Type asks for: 1 for `application/x-protobuf` (no
 * `proto`, or `proto=prometheus.WriteRequest`) and for a missing header, 2
 * for `proto=io.prometheus.write.v2.Request`; otherwise why not.
 */
export function protocolOf(contentType: string | null): 1 | 2 | { reason: string } {
  if (contentType === null || contentType.trim() === "") return 1;
  const [type, ...params] = contentType.split(";").map((p) => p.trim());
  if (type.toLowerCase() !== "application/x-protobuf") {
    return { reason: `unsupported Content-Type ${JSON.stringify(contentType)}` };
  }
  let proto = PROTO_V1;
  for (const p of params) {
    const eq = p.indexOf("=");
    if (eq < 0 || p.slice(0, eq).trim().toLowerCase() !== "proto") continue;
    proto = p.slice(eq + 1).trim().replace(/^"(.*)"$/, "$1");
  }
  if (proto === PROTO_V1) return 1;
  if (proto === PROTO_V2) return 2;
  return {
    reason: `unsupported proto ${
      JSON.stringify(proto)
    } in Content-Type (want ${PROTO_V1} or ${PROTO_V2})`,
  };
}

/**
 * The exposition format of a pushed text body: `text/plain` (any version) is
 * the Prometheus text format, `application/openmetrics-text` OpenMetrics
 * (1.0.0, or 0.0.1 when asked). A missing Content-Type and curl's default
 * `application/x-www-form-urlencoded` (`curl --data-binary @file`) are read as
 * the Prometheus text format; anything else is refused with the reason.
 */
export function textFormatOf(contentType: string | null): ScrapeProtocol | { reason: string } {
  if (contentType === null || contentType.trim() === "") return "PrometheusText0.0.4";
  const [type, ...params] = contentType.split(";").map((p) => p.trim());
  let version = "";
  for (const p of params) {
    const eq = p.indexOf("=");
    if (eq > 0 && p.slice(0, eq).trim().toLowerCase() === "version") {
      version = p.slice(eq + 1).trim().replace(/^"(.*)"$/, "$1");
    }
  }
  switch (type.toLowerCase()) {
    case "text/plain":
    case "application/x-www-form-urlencoded":
      return "PrometheusText0.0.4";
    case "application/openmetrics-text":
      return version === "0.0.1" ? "OpenMetricsText0.0.1" : "OpenMetricsText1.0.0";
  }
  return {
    reason: `unsupported Content-Type ${
      JSON.stringify(contentType)
    } (want text/plain or application/openmetrics-text)`,
  };
}

/** A body over the size limit. */
export class BodyTooLargeError extends Error {
  override name = "BodyTooLargeError";
}

/**
 * Reads a request body of at most `max` bytes: a larger `Content-Length` is
 * refused before reading, a larger streamed body as soon as it passes `max`.
 *
 * @throws {BodyTooLargeError} over the limit; other errors when the body cannot be read.
 */
export async function readBody(req: Request, max: number): Promise<Uint8Array> {
  const declared = Number(req.headers.get("content-length") ?? "0");
  if (declared > max) {
    await req.body?.cancel().catch(() => {});
    throw new BodyTooLargeError(`body of ${declared} bytes exceeds limit ${max}`);
  }
  return await readCappedBytes(
    req.body,
    max,
    () => new BodyTooLargeError(`body exceeds limit ${max}`),
  );
}

/**
 * Decodes a snappy-compressed RW 1.0 or 2.0 body and checks every series'
 * labels (non-empty names and values, sorted, no duplicates).
 *
 * @throws {CodecError} for a malformed body or invalid labels (a 400).
 */
export function decodeRwBody(
  body: Uint8Array,
  version: 1 | 2,
  maxDecoded = DEFAULT_MAX_DECODED_BYTES,
): DecodedWriteRequest {
  const raw = snappyDecode(body, maxDecoded);
  const decoded = version === 2 ? decodeWriteRequestV2(raw) : decodeWriteRequest(raw);
  for (const s of decoded.series) {
    const problem = checkLabels(s.labels);
    if (problem !== null) {
      throw new CodecError(`invalid series ${renderPairs(s.labels)}: ${problem}`);
    }
  }
  return decoded;
}

/** `{a="1", b="2"}` for messages. */
export function renderPairs(labels: readonly (readonly [string, string])[]): string {
  return "{" + labels.map(([n, v]) => `${n}=${quote(v)}`).join(", ") + "}";
}
