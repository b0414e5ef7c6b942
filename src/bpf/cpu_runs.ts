/**
 * Reading a per-CPU run (struct nt_storm_run of bpf/include/storm_limit.h,
 * struct nt_drop_count_run of drop_counts.h): each CPU's count of one key not
 * yet added to the map it belongs to. A run is whole when its first u64
 * (begin) equals its last (end): the program moves end before it empties or
 * replaces a run, and begin after it wrote the new one; the kernel copies
 * each CPU's value in order. Read it after the map: a run's count is then
 * either in the run or in the map, never in both (a run being replaced is
 * left out, and its count read next time).
 * @module
 */
import type { BpfMap } from "../../lib/ffi/bpf_object.ts";
import { libbpf } from "../../lib/ffi/libbpf.ts";

export class CpuRuns {
  readonly #values: Uint8Array;
  readonly #key = new Uint8Array(4);

  /** size: the struct's size, a multiple of 8 (each CPU's copy is that far from the last); cpus: possible CPUs. */
  constructor(private map: Pick<BpfMap, "lookup">, private size: number, cpus = libbpf().libbpf_num_possible_cpus()) {
    if (size % 8) throw new Error(`a run of ${size} bytes: not a multiple of 8`);
    this.#values = new Uint8Array(size * Math.max(cpus, 1));
  }

  /** Each CPU's run that is whole, a view of its bytes (valid until the next read). */
  read(): DataView[] {
    if (!this.map.lookup(this.#key, this.#values)) return [];
    const out: DataView[] = [];
    for (let at = 0; at < this.#values.length; at += this.size) {
      const v = new DataView(this.#values.buffer, at, this.size);
      if (v.getBigUint64(0, true) === v.getBigUint64(this.size - 8, true)) out.push(v);
    }
    return out;
  }
}
