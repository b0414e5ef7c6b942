/**
 * Reading the per-CPU counters the BPF programs keep (enum nt_stat).
 * @module
 */
import type { BpfMap } from "../../lib/ffi/bpf_object.ts";
import { libbpf } from "../../lib/ffi/libbpf.ts";

/** Sums one slot of a per-CPU array of u64 over all possible CPUs. */
export class PerCpuCounters {
  readonly #value: BigUint64Array;
  readonly #key = new Uint32Array(1);

  constructor(private map: BpfMap) {
    const cpus = libbpf().libbpf_num_possible_cpus();
    this.#value = new BigUint64Array(Math.max(cpus, 1));
  }

  /** Current sum of slot. */
  read(slot: number): number {
    this.#key[0] = slot;
    const ok = this.map.lookup(new Uint8Array(this.#key.buffer), new Uint8Array(this.#value.buffer));
    if (!ok) return 0;
    let sum = 0n;
    for (const v of this.#value) sum += v;
    return Number(sum);
  }
}
