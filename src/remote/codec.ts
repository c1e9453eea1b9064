/**
 * Remote write encoding and decoding: the public surface of the codec.
 *
 * - `WriteBatch` (codec_batch.ts): the columnar items of one request.
 * - RW 1.0 `prometheus.WriteRequest` (codec_rw1.ts): samples, native
 *   histograms, exemplars; metadata-only requests.
 * - RW 2.0 `io.prometheus.write.v2.Request` (codec_rw2.ts): symbol table,
 *   start timestamps, inline metadata.
 * - Snappy block format (codec_snappy.ts).
 *
 * Encoders write with a small hand-rolled protobuf writer (codec_pb.ts) and
 * never pass a staleness marker through a float: the raw StaleNaN bits go on
 * the wire. Decoders are hand-written, bit-exact for StaleNaN (sample values
 * and histogram sums), and throw `CodecError` on malformed input.
 *
 * @module
 */

export { type SeriesGroups, WriteBatch, type WriteBatchOptions } from "./codec_batch.ts";
export {
  checkLabels,
  decodeWriteRequest,
  encodeMetadataRequest,
  encodeWriteRequest,
  type MetadataEntry,
} from "./codec_rw1.ts";
export { decodeWriteRequestV2, encodeWriteRequestV2 } from "./codec_rw2.ts";
export {
  DEFAULT_MAX_DECODED_BYTES,
  maxCompressedLength,
  snappyDecode,
  snappyEncode,
} from "./codec_snappy.ts";
export {
  CodecError,
  type DecodedExemplar,
  type DecodedHistogram,
  type DecodedMetadata,
  type DecodedSeries,
  type DecodedWriteRequest,
  type EncodeOptions,
} from "./codec_types.ts";
