/**
 * Start-up leaves garbage: the kallsyms file read whole, BTF parsed and
 * closed, the growing arrays of the symbol table. V8 frees it at its next
 * collection and glibc keeps what was freed; either way the idle process
 * would carry it in its RSS for its whole run. settleMemory() collects now
 * and gives the free memory back, once, before tracing begins.
 * @module
 */
import v8 from "node:v8";
import vm from "node:vm";
import { releaseFreeMemory } from "../../lib/ffi/libc.ts";

let collect: (() => void) | undefined;

function gcFunction(): () => void {
  if (!collect) {
    v8.setFlagsFromString("--expose-gc");
    collect = vm.runInNewContext("gc") as () => void;
  }
  return collect;
}

/** A full collection, the array buffers it freed swept, and malloc's free memory returned to the kernel. */
export async function settleMemory(): Promise<void> {
  gcFunction()();
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
