/**
 * Start-up leaves garbage: the kallsyms file read whole, BTF parsed and
 * closed, the growing arrays of the symbol table. V8 frees it at its next
 * collection and glibc keeps what was freed; either way the idle process
 * would carry it in its RSS for its whole run. settleMemory() collects now
 * and gives the free memory back, once, before tracing begins.
 * @module
 */
import { releaseFreeMemory } from "../../lib/ffi/libc.ts";

/**
 * V8's full collection: the global gc() that every launcher's --expose-gc gives; started some other way
 * (`deno run main.ts`), one made through node:v8 and node:vm, loaded only then (Deno's Node layer costs a start
 * 30 ms of CPU here).
 */
async function gcFunction(): Promise<() => void> {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed) return exposed;
  const [{ default: v8 }, { default: vm }] = await Promise.all([import("node:v8"), import("node:vm")]);
  v8.setFlagsFromString("--expose-gc");
  return vm.runInNewContext("gc") as () => void;
}

/** A full collection, the array buffers it freed swept, and malloc's free memory returned to the kernel. */
export async function settleMemory(): Promise<void> {
  (await gcFunction())();
  // array buffers are freed by tasks after the collection: wait while their memory still falls (at most 0.2 s)
  let external = Deno.memoryUsage().external;
  for (let i = 0; i < 10; i++) {
    await new Promise((r) => setTimeout(r, 20));
    const now = Deno.memoryUsage().external;
    if (now >= external) break;
    external = now;
  }
  releaseFreeMemory();
}
