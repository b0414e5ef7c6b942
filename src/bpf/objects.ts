/**
 * The compiled BPF objects, embedded in the program as bytes (built by
 * scripts/build-bpf.sh), so no .o file is read at run time.
 * @module
 */
import type { EventTransport } from "../../lib/ffi/ring_records.ts";
import dropObject from "../../bpf/.output/drop.bpf.o" with { type: "bytes" };
import dropPerfObject from "../../bpf/.output/drop.perf.bpf.o" with { type: "bytes" };
import lifeObject from "../../bpf/.output/life.bpf.o" with { type: "bytes" };
import lifePerfObject from "../../bpf/.output/life.perf.bpf.o" with { type: "bytes" };
import probeObject from "../../bpf/.output/probe.bpf.o" with { type: "bytes" };
import probeBareObject from "../../bpf/.output/probe_bare.bpf.o" with { type: "bytes" };

/** ELF bytes of bpf/drop.bpf.c. */
export const DROP_OBJECT: Uint8Array = dropObject;
/** ELF bytes of bpf/probe.bpf.c. */
export const PROBE_OBJECT: Uint8Array = probeObject;
/** ELF bytes of bpf/probe_bare.bpf.c (no CO-RE: for kernels without BTF). */
export const PROBE_BARE_OBJECT: Uint8Array = probeBareObject;
/** ELF bytes of bpf/life.bpf.c (the lifecycle mode). */
export const LIFE_OBJECT: Uint8Array = lifeObject;

/** The drop and lifecycle objects of one event transport (bpf/include/event_output.h). */
export function eventObjects(transport: EventTransport): { drop: Uint8Array; life: Uint8Array } {
  return transport === "perf" ? { drop: dropPerfObject, life: lifePerfObject } : { drop: dropObject, life: lifeObject };
}
