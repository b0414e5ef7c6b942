/**
 * Kernel stacks the programs recorded (a BPF_MAP_TYPE_STACK_TRACE map named
 * `stacks`), as symbolized frames.
 * @module
 */
import type { BpfMap } from "../../lib/ffi/bpf_object.ts";

/** Frames deepest first; bpf_get_stackid's limit. */
const STACK_DEPTH = 127;
/** Frames of the tracing itself (the program, its trampoline, the tracepoint runner, kprobes): not the packet's path. */
const TRACING_FRAME = /^(bpf_prog_|bpf_trampoline_|bpf_trace_run|kprobe_)/;

/** Reads stacks by id. */
export class StackTraces {
  readonly #key = new Int32Array(1);
  readonly #value = new BigUint64Array(STACK_DEPTH);

  /** symbolize: a code address as "func+0xoff" */
  constructor(private map: BpfMap, private symbolize: (addr: bigint) => string) {}

  /** The frames of stack id, from where it was taken outwards, without the tracing's own at the top. */
  frames(id: number): string[] {
    if (id < 0) return ["(stack not available)"];
    this.#key[0] = id;
    if (!this.map.lookup(new Uint8Array(this.#key.buffer), new Uint8Array(this.#value.buffer))) return ["(stack lost)"];
    const frames: string[] = [];
    for (const a of this.#value) {
      if (a === 0n) break;
      const f = this.symbolize(a);
      if (frames.length === 0 && TRACING_FRAME.test(f)) continue;
      frames.push(f);
    }
    return frames;
  }
}
