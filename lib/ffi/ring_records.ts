/**
 * How the records of a BPF ring buffer reach TypeScript: the handler each
 * record is given to, the reader interface both readers implement, and the
 * reader kinds. No FFI here: options and modes name a kind without loading
 * a reader.
 * @module
 */

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

/** How events leave the kernel: the BPF ring buffer (Linux 5.8+) or a per-CPU perf buffer (any kernel with BPF). */
export type EventTransport = "ringbuf" | "perf";

/** --transport: a transport, or auto (the ring buffer where the kernel has it). */
export type TransportChoice = "auto" | EventTransport;

/** The transport kinds --transport accepts. */
export const TRANSPORT_CHOICES: readonly TransportChoice[] = ["auto", "ringbuf", "perf"];
