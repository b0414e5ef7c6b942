/**
 * Reading a BPF ring buffer. Two readers exist because both were measured
 * (deno task bench): one reads the mmapped ring directly from TypeScript, the
 * other lets libbpf walk it and call back into TypeScript per record.
 * @module
 */
import type { BpfMap } from "./bpf_object.ts";
import { CallbackRingReader } from "./ringbuf_callback.ts";
import { MmapRingReader } from "./ringbuf_mmap.ts";

/**
 * Called once per record: the record's bytes are view[offset, offset + size).
 * The view is only valid during the call.
 */
export type RecordHandler = (view: DataView, offset: number, size: number) => void;

/** A consumer of one ring buffer map. */
export interface RingReader {
  /** Waits until records may be there, or timeoutMs passed. Does not block the event loop. */
  wait(timeoutMs: number): Promise<void>;
  /** Hands every committed record to the handler; returns how many. */
  drain(): number;
  /** Releases mappings, fds and callbacks. Idempotent. */
  close(): void;
}

/** The ring reader kinds. */
export type RingReaderKind = "mmap" | "callback";

/** The reader used unless asked otherwise: the faster one in deno task bench. */
export const DEFAULT_RING_READER: RingReaderKind = "mmap";

/** Opens a reader of the given kind on a loaded ring buffer map. */
export function openRingReader(kind: RingReaderKind, map: BpfMap, onRecord: RecordHandler): RingReader {
  return kind === "mmap"
    ? new MmapRingReader(map.fd, map.maxEntries, onRecord)
    : new CallbackRingReader(map.fd, onRecord);
}
