/**
 * Opening a reader of the events map. For the BPF ring buffer two readers
 * exist because both were measured (deno task bench): one reads the mmapped
 * ring directly from TypeScript, the other lets libbpf walk it and call back
 * into TypeScript per record. A perf buffer has the same two: its per-CPU
 * rings mapped and walked from TypeScript, or libbpf's perf_buffer. Their
 * contract is in ring_records.ts.
 * @module
 */
import type { BpfMap } from "./bpf_object.ts";
import { CallbackRingReader } from "./ringbuf_callback.ts";
import { MmapRingReader } from "./ringbuf_mmap.ts";
import { PerfBufferReader } from "./perf_buffer.ts";
import { MmapPerfReader } from "./perf_mmap.ts";
import { libbpf } from "./libbpf.ts";
import { pageSize } from "./libc.ts";
import type { EventTransport, RecordHandler, RingReader, RingReaderKind } from "./ring_records.ts";

/**
 * Each CPU's perf ring, in pages (a power of two, at least 1), for a buffer of totalBytes shared by cpus
 * CPUs: --ring-size means the whole buffer with either transport.
 */
export function perfPagesPerCpu(totalBytes: number, cpus: number, page: number): number {
  const pages = Math.floor(totalBytes / Math.max(1, cpus) / page);
  return pages <= 1 ? 1 : 2 ** Math.floor(Math.log2(pages));
}

/**
 * Opens a reader on a loaded events map: a ring buffer (read by `kind`) or a perf buffer, which gets
 * bufferBytes spread over the CPUs.
 */
export function openEventReader(
  transport: EventTransport,
  kind: RingReaderKind,
  map: BpfMap,
  bufferBytes: number,
  onRecord: RecordHandler,
): RingReader {
  if (transport === "perf") {
    const pages = perfPagesPerCpu(bufferBytes, libbpf().libbpf_num_possible_cpus(), pageSize());
    return kind === "mmap"
      ? new MmapPerfReader(map.fd, pages, onRecord)
      : new PerfBufferReader(map.fd, pages, onRecord);
  }
  return kind === "mmap"
    ? new MmapRingReader(map.fd, map.maxEntries, onRecord)
    : new CallbackRingReader(map.fd, onRecord);
}

const BPF_MAP_TYPE_RINGBUF = 27;

/** Whether this kernel has the BPF ring buffer (BPF_MAP_TYPE_RINGBUF): libbpf's probe creates one. */
export function kernelHasRingBuffer(): boolean {
  return libbpf().libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, null) === 1;
}
