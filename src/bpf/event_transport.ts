/**
 * Which transport a run's events take: --transport's choice, where auto is
 * the BPF ring buffer when the kernel has one (decided by creating one, never
 * by the kernel's version) and a per-CPU perf buffer otherwise.
 * @module
 */
import type { EventTransport, TransportChoice } from "../../lib/ffi/ring_records.ts";
import { HostError } from "../errors.ts";

/** The transport of a run; hasRingBuffer probes the kernel. Throws HostError when ringbuf is asked of a kernel without one. */
export function resolveTransport(choice: TransportChoice, hasRingBuffer: () => boolean): EventTransport {
  if (choice === "perf") return "perf";
  const ring = hasRingBuffer();
  if (choice === "ringbuf" && !ring) {
    throw new HostError("--transport ringbuf: this kernel has no BPF ring buffer (Linux 5.8); use --transport perf");
  }
  return ring ? "ringbuf" : "perf";
}

/** The transport's buffer, in a user's words. */
export function bufferName(transport: EventTransport): string {
  return transport === "perf" ? "perf buffer" : "ring buffer";
}
