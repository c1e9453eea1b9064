/**
 * Storage: the agent db (series refs over a write-ahead log) and the seams
 * scraping and remote write use.
 *
 * @module
 */

export {
  type Appendable,
  type Appender,
  comparePositions,
  type DeliveryCursor,
  type ExemplarSample,
  type HistogramSample,
  type SampleColumns,
  type SeriesRef,
  type TailOptions,
  type WalChunk,
  type WalPosition,
  type WalSource,
} from "./types.ts";
export {
  AgentDb,
  type AgentDbOptions,
  type DropEvent,
  type DropReason,
  type ReplayReport,
  type SyncPolicy,
} from "./agentdb.ts";
export type { LossReport } from "./wal/repair.ts";
export { createStorageMetrics, type StorageMetrics } from "./metrics.ts";
export { CorruptionError } from "./wal/errors.ts";
export { WalWriteError } from "./wal/writer.ts";
export { DEFAULT_SEGMENT_SIZE, PAGE_SIZE } from "./wal/segment.ts";
