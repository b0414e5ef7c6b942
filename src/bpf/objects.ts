/**
 * The compiled BPF objects, embedded in the program as bytes (built by
 * scripts/build-bpf.sh), so no .o file is read at run time.
 * @module
 */
import type { EventTransport } from "../../lib/ffi/ring_records.ts";
import { type CompatObjects, type EventProgram, readCompatObject } from "./compat_objects.ts";
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

const EMBEDDED: Record<EventProgram, Record<EventTransport, Uint8Array>> = {
  drop: { ringbuf: dropObject, perf: dropPerfObject },
  life: { ringbuf: lifeObject, perf: lifePerfObject },
};

/**
 * The object of an event program for one transport (bpf/include/event_output.h):
 * the embedded CO-RE one, or the compat one built for this kernel.
 */
export function eventObject(program: EventProgram, transport: EventTransport, compat?: CompatObjects): Uint8Array {
  return compat ? readCompatObject(compat, program, transport) : EMBEDDED[program][transport];
}
