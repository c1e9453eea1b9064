/**
 * Remote write: the per-endpoint sender (`RemoteEndpoint`: RW 1.0 and 2.0,
 * dynamic shards, retries, metadata), its HTTP client and the wire codec.
 *
 * @module
 */

export {
  collectMetadata,
  DRAIN_QUIET_MS,
  type EndpointStatus,
  type FamilyMetadata,
  type ItemStatus,
  MAX_RETRY_AFTER_MS,
  MIN_SPLIT_BODY_BYTES,
  RemoteEndpoint,
  type RemoteEndpointDeps,
  SHARD_UPDATE_INTERVAL_MS,
} from "./endpoint.ts";
export {
  classifyStatus,
  CONTENT_TYPES,
  parseRetryAfter,
  parseWritten,
  REMOTE_WRITE_VERSION_1,
  REMOTE_WRITE_VERSION_2,
  RemoteWriteClient,
  type RemoteWriteClientOptions,
  RW1,
  RW2,
  type SendOptions,
  type SendResult,
  WRITTEN_HEADERS,
  type WrittenCounts,
} from "./client.ts";
export { type ItemKind, RemoteMetrics } from "./metrics.ts";
export { ShardTuner } from "./shards.ts";
export {
  checkLabels,
  CodecError,
  type DecodedSeries,
  type DecodedWriteRequest,
  decodeWriteRequest,
  decodeWriteRequestV2,
  DEFAULT_MAX_DECODED_BYTES,
  encodeMetadataRequest,
  type EncodeOptions,
  encodeWriteRequest,
  encodeWriteRequestV2,
  snappyDecode,
  snappyEncode,
  WriteBatch,
} from "./codec.ts";
export type { Clock } from "../util/clock.ts";
export { redactUrl } from "../util/url.ts";
