/**
 * The compiled BPF objects, embedded in the program as bytes (built by
 * scripts/build-bpf.sh), so no .o file is read at run time.
 * @module
 */
import dropObject from "../../bpf/.output/drop.bpf.o" with { type: "bytes" };
import probeObject from "../../bpf/.output/probe.bpf.o" with { type: "bytes" };

/** ELF bytes of bpf/drop.bpf.c. */
export const DROP_OBJECT: Uint8Array = dropObject;
/** ELF bytes of bpf/probe.bpf.c. */
export const PROBE_OBJECT: Uint8Array = probeObject;
