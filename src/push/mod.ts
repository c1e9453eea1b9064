/**
 * Push ingestion (`--web.enable-remote-write-receiver`): Remote Write 1.0/2.0
 * at `POST /api/v1/write` and Prometheus text / OpenMetrics at
 * `POST /api/v1/import/prometheus`, appended into the agent's WAL.
 *
 * @module
 */

export { type PushBatch, type PushedFamily, type PushSeries } from "./batch.ts";
export {
  createPushHandlers,
  extraLabels,
  type PushHandlerOptions,
  type PushHandlers,
} from "./handler.ts";
export { PushError, PushIngester, type PushIngesterDeps, type RejectReason } from "./ingest.ts";
export { TokenBucket } from "./limits.ts";
export { protocolOf, textFormatOf, WRITTEN } from "./protocol.ts";
export { parseTextPush } from "./text.ts";
