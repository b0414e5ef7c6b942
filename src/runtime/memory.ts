/**
 * Start-up leaves garbage: the kallsyms file read whole, BTF parsed and
 * closed, the growing arrays of the symbol table. V8 frees it at its next
 * collection and glibc keeps what was freed; either way the idle process
 * would carry it in its RSS for its whole run. Start-up also runs code that
 * never runs again: Deno's module loader, the TypeScript cache, libbpf's
 * loader, most of V8's compiler. Their pages of the Deno binary and the
 * libraries stay resident, 20 to 25 MB here, of which a trace touches 6.
 * settleMemory() collects now, gives the free memory back, and asks the
 * kernel to reclaim the read-only pages of mapped files (MADV_PAGEOUT,
 * Linux 5.4): what tracing then runs is read back in once, on first use.
 * @module
 */
import { pageOut, releaseFreeMemory } from "../../lib/ffi/libc.ts";

/** A range of the address space. */
export interface AddressRange {
  readonly start: bigint;
  readonly length: bigint;
}

/**
 * The read-only mappings of files in /proc/self/maps' text: code and constant data of the executable and its
 * libraries, and Deno's caches (SQLite files it maps shared). Writable mappings (their written pages are the
 * process's own), anonymous ones, BPF maps (anon_inode:), devices and memfds are left out.
 */
export function readOnlyFileMappings(maps: string): AddressRange[] {
  const ranges: AddressRange[] = [];
  for (const line of maps.split("\n")) {
    // start-end perms offset dev inode path; a file's inode is not 0
    const m = line.match(/^([0-9a-f]+)-([0-9a-f]+) r-[x-][ps] [0-9a-f]+ [0-9a-f]+:[0-9a-f]+ (\d+) +(\/.*)$/);
    if (!m || m[3] === "0" || /^\/(dev\/|memfd:)/.test(m[4])) continue;
    const start = BigInt(`0x${m[1]}`);
    ranges.push({ start, length: BigInt(`0x${m[2]}`) - start });
  }
  return ranges;
}

/**
 * V8's collection: the global gc() that every launcher's --expose-gc gives; started some other way
 * (`deno run main.ts`), one made through node:v8 and node:vm, loaded only then (Deno's Node layer costs a start
 * 30 ms of CPU here).
 */
async function gcFunction(): Promise<(options?: object) => void> {
  const exposed = (globalThis as { gc?: (options?: object) => void }).gc;
  if (exposed) return exposed;
  const [{ default: v8 }, { default: vm }] = await Promise.all([import("node:v8"), import("node:vm")]);
  v8.setFlagsFromString("--expose-gc");
  return vm.runInNewContext("gc") as () => void;
}

/**
 * A full collection, the array buffers it freed swept, malloc's free memory returned to the kernel, and the pages of
 * mapped files reclaimed.
 */
export async function settleMemory(): Promise<void> {
  // "last-resort": collections until nothing more is freed, then V8 gives its emptied pages back (a plain full
  // collection keeps them for the heap to grow into: 4 MB here)
  (await gcFunction())({ type: "major", execution: "sync", flavor: "last-resort" });
  // array buffers are freed by tasks after the collection: wait while their memory still falls (at most 0.2 s)
  let external = Deno.memoryUsage().external;
  for (let i = 0; i < 10; i++) {
    await new Promise((r) => setTimeout(r, 20));
    const now = Deno.memoryUsage().external;
    if (now >= external) break;
    external = now;
  }
  releaseFreeMemory();
  // a kernel before 5.4 refuses MADV_PAGEOUT: those pages stay, as they did
  for (const r of readOnlyFileMappings(Deno.readTextFileSync("/proc/self/maps"))) pageOut(r.start, r.length);
}

/** A collection of V8's young generation: what a burst of work just left, freed without the cost of a full one. */
export async function collectYoung(): Promise<void> {
  (await gcFunction())({ type: "minor" });
}
