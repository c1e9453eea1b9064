/**
 * The push endpoints the agent's web server mounts with
 * `--web.enable-remote-write-receiver`:
 *
 * - `POST /api/v1/write`: Remote Write 1.0 and 2.0, chosen by Content-Type
 *   as the spec says (`application/x-protobuf`, `proto=` picks the message;
 *   anything else 415), snappy-encoded (else 415). Answers 204; RW 2.0
 *   answers (errors included) carry `X-Prometheus-Remote-Write-{Samples,
 *   Histograms,Exemplars}-Written` with what was stored.
 * - `POST /api/v1/import/prometheus`: the Prometheus text format (0.0.4) or
 *   OpenMetrics, by Content-Type (see `textFormatOf`); timestamps are
 *   optional (the time of the push). Answers 204.
 *
 * Both take vmagent's `?extra_label=NAME=VALUE` arguments (repeatable): the
 * label is set on every series of the request (replacing a pushed one),
 * before the config's `extraLabels` and relabeling.
 *
 * Statuses: 401 (push users configured, no valid credentials), 415, 413 (body
 * over `bodySizeLimit`, or more samples than `sampleLimit`), 400 (malformed
 * body, invalid labels or `extra_label`), 429 with `Retry-After` (rate
 * limit), 500 (the WAL write failed: retry). A 2xx is sent only after the
 * push's commit is in the WAL.
 *
 * @module
 */

import { CodecError } from "../remote/codec.ts";
import { ParseError } from "../scrape/textparse/mod.ts";
import { fromWriteRequest, type PushBatch } from "./batch.ts";
import { PushError, type PushIngester } from "./ingest.ts";
import {
  BodyTooLargeError,
  decodeRwBody,
  protocolOf,
  readBody,
  setWritten,
  textFormatOf,
  type WrittenCounts,
} from "./protocol.ts";
import { parseTextPush } from "./text.ts";

/** The two push handlers. */
export interface PushHandlers {
  /** `POST /api/v1/write`. */
  write(req: Request): Promise<Response>;
  /** `POST /api/v1/import/prometheus`. */
  importText(req: Request): Promise<Response>;
}

/** Options of {@link createPushHandlers}. */
export interface PushHandlerOptions {
  /** Wall-clock milliseconds: the timestamp of text samples without one. @default Date.now */
  now?: () => number;
}

const NONE: WrittenCounts = { samples: 0, histograms: 0, exemplars: 0 };

/** Builds the handlers over an ingester. */
export function createPushHandlers(
  ingester: PushIngester,
  opts: PushHandlerOptions = {},
): PushHandlers {
  const now = opts.now ?? Date.now;

  const answer = (
    protocol: string,
    status: number,
    message: string,
    o: { written?: WrittenCounts; retryAfter?: number } = {},
  ): Response => {
    ingester.countRequest(protocol, status);
    const headers = new Headers();
    if (o.written !== undefined) setWritten(headers, o.written);
    if (o.retryAfter !== undefined) headers.set("retry-after", String(o.retryAfter));
    if (status === 204) return new Response(null, { status, headers });
    headers.set("content-type", "text/plain; charset=utf-8");
    return new Response(message + "\n", { status, headers });
  };

  /** Limits, relabeling, append; the answer. */
  const store = async (
    protocol: string,
    batch: PushBatch,
    extra: [string, string][],
    rw2: boolean,
  ): Promise<Response> => {
    try {
      const written = await ingester.ingest(batch, protocol, extra);
      return answer(protocol, 204, "", { written: rw2 ? written : undefined });
    } catch (e) {
      if (!(e instanceof PushError)) throw e;
      return answer(protocol, e.status, e.message, {
        written: rw2 ? NONE : undefined,
        retryAfter: e.retryAfter,
      });
    }
  };

  const body = async (
    req: Request,
    protocol: string,
    rw2: boolean,
  ): Promise<Uint8Array | Response> => {
    try {
      return await readBody(req, ingester.config.bodySizeLimit);
    } catch (e) {
      const status = e instanceof BodyTooLargeError ? 413 : 400;
      return answer(protocol, status, errorText(e), { written: rw2 ? NONE : undefined });
    }
  };

  return {
    async write(req) {
      const denied = await ingester.authorize(req);
      if (denied !== null) {
        ingester.countRequest("unknown", denied.status);
        return denied;
      }
      const version = protocolOf(req.headers.get("content-type"));
      if (typeof version === "object") return answer("unknown", 415, version.reason);
      const protocol = `rw${version}`;
      const rw2 = version === 2;
      const w = rw2 ? NONE : undefined;
      const encoding = req.headers.get("content-encoding");
      if (encoding === null || encoding.trim().toLowerCase() !== "snappy") {
        return answer(
          protocol,
          415,
          `unsupported Content-Encoding ${JSON.stringify(encoding ?? "")} (want snappy)`,
          { written: w },
        );
      }
      const extra = extraLabels(new URL(req.url));
      if (typeof extra === "string") return answer(protocol, 400, extra, { written: w });
      const bytes = await body(req, protocol, rw2);
      if (bytes instanceof Response) return bytes;
      let batch: PushBatch;
      try {
        batch = fromWriteRequest(decodeRwBody(bytes, version));
      } catch (e) {
        if (!(e instanceof CodecError)) throw e;
        return answer(protocol, 400, errorText(e), { written: w });
      }
      return await store(protocol, batch, extra, rw2);
    },

    async importText(req) {
      const denied = await ingester.authorize(req);
      if (denied !== null) {
        ingester.countRequest("unknown", denied.status);
        return denied;
      }
      const format = textFormatOf(req.headers.get("content-type"));
      if (typeof format === "object") return answer("unknown", 415, format.reason);
      const protocol = format.startsWith("OpenMetrics") ? "openmetrics" : "text";
      const encoding = req.headers.get("content-encoding");
      if (encoding !== null && !["", "identity"].includes(encoding.trim().toLowerCase())) {
        return answer(
          protocol,
          415,
          `unsupported Content-Encoding ${JSON.stringify(encoding)} (send the body uncompressed)`,
        );
      }
      const extra = extraLabels(new URL(req.url));
      if (typeof extra === "string") return answer(protocol, 400, extra);
      const bytes = await body(req, protocol, false);
      if (bytes instanceof Response) return bytes;
      let batch: PushBatch;
      try {
        batch = parseTextPush(bytes, format, now());
      } catch (e) {
        if (!(e instanceof ParseError)) throw e;
        return answer(protocol, 400, `cannot parse the body: ${errorText(e)}`);
      }
      return await store(protocol, batch, extra, false);
    },
  };
}

/**
 * The request's `extra_label=NAME=VALUE` arguments, or what is wrong with
 * one. An empty value removes the label.
 */
export function extraLabels(url: URL): [string, string][] | string {
  const out: [string, string][] = [];
  for (const arg of url.searchParams.getAll("extra_label")) {
    const eq = arg.indexOf("=");
    if (eq <= 0) return `invalid extra_label ${JSON.stringify(arg)} (want NAME=VALUE)`;
    const name = arg.slice(0, eq);
    if (!name.isWellFormed()) {
      return `invalid extra_label name ${JSON.stringify(name)}`;
    }
    out.push([name, arg.slice(eq + 1)]);
  }
  return out;
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
