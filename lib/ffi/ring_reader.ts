/**
 * Opening a reader of a BPF ring buffer. Two readers exist because both were
 * measured (deno task bench): one reads the mmapped ring directly from
 * TypeScript, the other lets libbpf walk it and call back into TypeScript per
 * record. Their contract is in ring_records.ts.
 * @module
 */
import type { BpfMap } from "./bpf_object.ts";
import { CallbackRingReader } from "./ringbuf_callback.ts";
import { MmapRingReader } from "./ringbuf_mmap.ts";
import type { RecordHandler, RingReader, RingReaderKind } from "./ring_records.ts";

/** Opens a reader of the given kind on a loaded ring buffer map. */
export function openRingReader(kind: RingReaderKind, map: BpfMap, onRecord: RecordHandler): RingReader {
  return kind === "mmap"
    ? new MmapRingReader(map.fd, map.maxEntries, onRecord)
    : new CallbackRingReader(map.fd, onRecord);
}
