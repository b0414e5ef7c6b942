/**
 * The compiled BPF objects, embedded in the program as gzip'd bytes (built by
 * scripts/build-bpf.sh), so no .o file is read at run time. Each is imported
 * when it is first needed: in the bundle an embedded object is decoded from
 * base64 when its module starts, and decoding all six cost every start 30 ms
 * of CPU here, for the one or two a mode loads. Compressed, the six take
 * 0.5 MB of the bundle instead of 3.1 MB: V8 keeps a script's source for the
 * whole run, so that is memory every run holds.
 * @module
 */
import type { EventTransport } from "../../lib/ffi/ring_records.ts";
import { type CompatObjects, type EventProgram, readCompatObject } from "./compat_objects.ts";

type Embedded = Promise<{ default: Uint8Array }>;

/**
 * The embedded objects by name, one module each (src/bpf/embedded/): a module imported with import() starts when it
 * is first needed. (The object file itself imported with import() would be bundled as a CommonJS module, whose bytes
 * are copied one property at a time: 0.2 s.)
 */
const EMBEDDED = {
  drop: () => import("./embedded/drop.ts") as Embedded,
  "drop.perf": () => import("./embedded/drop_perf.ts") as Embedded,
  life: () => import("./embedded/life.ts") as Embedded,
  "life.perf": () => import("./embedded/life_perf.ts") as Embedded,
  probe: () => import("./embedded/probe.ts") as Embedded,
  probe_bare: () => import("./embedded/probe_bare.ts") as Embedded,
} as const;

/** An embedded object's name: bpf/NAME.bpf.c (".perf": built for the perf buffer). */
export type EmbeddedName = keyof typeof EMBEDDED;

/** ELF bytes of an embedded object: drop and life (bpf/drop.bpf.c, bpf/life.bpf.c), probe, probe_bare (no CO-RE:
 * for kernels without BTF). */
export async function embeddedObject(name: EmbeddedName): Promise<Uint8Array> {
  const gzipped = (await EMBEDDED[name]()).default as Uint8Array<ArrayBuffer>;
  const elf = new Blob([gzipped]).stream().pipeThrough(new DecompressionStream("gzip"));
  return new Uint8Array(await new Response(elf).arrayBuffer());
}

/**
 * The object of an event program for one transport (bpf/include/event_output.h):
 * the embedded CO-RE one, or the compat one built for this kernel.
 */
export function eventObject(
  program: EventProgram,
  transport: EventTransport,
  compat?: CompatObjects,
): Promise<Uint8Array> {
  if (compat) return Promise.resolve(readCompatObject(compat, program, transport));
  return embeddedObject(transport === "perf" ? `${program}.perf` : program);
}
