/**
 * Remote write: the per-endpoint sender (`RemoteEndpoint`) and the RW 1.0
 * wire codec.
 *
 * @module
 */

export {
  DRAIN_QUIET_MS,
  type EndpointStatus,
  RemoteEndpoint,
  type RemoteEndpointDeps,
} from "./endpoint.ts";
export {
  classifyStatus,
  parseRetryAfter,
  redactUrl,
  REMOTE_WRITE_VERSION_1,
  RemoteWriteClient,
  type RemoteWriteClientOptions,
  type SendOptions,
  type SendResult,
} from "./client.ts";
export {
  checkLabels,
  CodecError,
  type DecodedSeries,
  type DecodedWriteRequest,
  decodeWriteRequest,
  DEFAULT_MAX_DECODED_BYTES,
  type EncodeOptions,
  encodeWriteRequest,
  snappyDecode,
  snappyEncode,
  WriteBatch,
} from "./codec.ts";
export type { Clock } from "../util/clock.ts";
