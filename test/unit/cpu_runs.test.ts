/**
 * The CPUs' runs (bpf/include/storm_limit.h, drop_counts.h) without a kernel: a
 * run is read only when whole, and its count is added to its map's entry by
 * the storm and metrics readers, once, never making a count go down.
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { DROP_COUNT_KEY, DROP_COUNT_RUN, STORM, STORM_KEY, STORM_RUN } from "../../src/event/layout.ts";
import { CpuRuns } from "../../src/bpf/cpu_runs.ts";
import { StormCounts } from "../../src/bpf/storm_counts.ts";
import { DropCounts } from "../../src/bpf/drop_counts.ts";
import type { BpfMap } from "../../lib/ffi/bpf_object.ts";

/** A per-CPU array of one struct of `size` bytes, each CPU's copy set by the test as a program would. */
class PerCpuArray {
  readonly bytes: Uint8Array;
  constructor(readonly size: number, readonly cpus: number) {
    this.bytes = new Uint8Array(size * cpus);
  }
  view(cpu: number): DataView {
    return new DataView(this.bytes.buffer, cpu * this.size, this.size);
  }
  lookup(_key: Uint8Array, value: Uint8Array): boolean {
    value.set(this.bytes);
    return true;
  }
  /** a whole run: begin and end the same generation */
  whole(cpu: number, gen: bigint): DataView {
    const v = this.view(cpu);
    v.setBigUint64(0, gen, true);
    v.setBigUint64(this.size - 8, gen, true);
    return v;
  }
  /** a run being replaced: end moved, begin not yet */
  torn(cpu: number): void {
    const v = this.view(cpu);
    v.setBigUint64(this.size - 8, v.getBigUint64(0, true) + 1n, true);
  }
}

/** A hash map of fixed-size keys and values. */
class HashMap {
  readonly entries = new Map<string, { key: Uint8Array; value: Uint8Array }>();
  constructor(readonly maxEntries = 4096) {}
  set(key: Uint8Array, value: Uint8Array): void {
    this.entries.set(key.join(","), { key, value });
  }
  keys(): Uint8Array[] {
    return [...this.entries.values()].map((e) => e.key);
  }
  lookup(key: Uint8Array, value: Uint8Array): boolean {
    const e = this.entries.get(key.join(","));
    if (e) value.set(e.value);
    return e !== undefined;
  }
  delete(key: Uint8Array): boolean {
    return this.entries.delete(key.join(","));
  }
}

Deno.test("cpu runs: only whole runs are read (begin equal to end); a run being replaced is left out", () => {
  const runs = new PerCpuArray(DROP_COUNT_RUN.size, 3);
  runs.whole(0, 4n).setBigUint64(DROP_COUNT_RUN.count, 10n, true);
  runs.whole(1, 7n).setBigUint64(DROP_COUNT_RUN.count, 20n, true);
  runs.torn(1);
  runs.whole(2, 1n).setBigUint64(DROP_COUNT_RUN.count, 30n, true);
  const read = new CpuRuns(runs, DROP_COUNT_RUN.size, 3).read();
  assertEquals(read.map((v) => v.getBigUint64(DROP_COUNT_RUN.count, true)), [10n, 30n]);
});

function stormKey(dport: number): Uint8Array {
  const k = new Uint8Array(STORM_KEY.size);
  const v = new DataView(k.buffer);
  v.setBigUint64(STORM_KEY.location, 0xffffffff81a00091n, true);
  v.setUint32(STORM_KEY.reason, 3, true);
  v.setUint16(STORM_KEY.l3_proto, 0x0800, true);
  v.setUint16(STORM_KEY.dport, dport, true);
  k[STORM_KEY.l4_proto] = 17;
  return k;
}

function stormEntry(summarized: number, born: number): Uint8Array {
  const b = new Uint8Array(STORM.size);
  const v = new DataView(b.buffer);
  v.setBigUint64(STORM.window_start, 1000n, true);
  v.setBigUint64(STORM.window_count, 100n, true);
  v.setBigUint64(STORM.summarized, BigInt(summarized), true);
  v.setBigUint64(STORM.born, BigInt(born), true);
  return b;
}

function stormRun(runs: PerCpuArray, cpu: number, gen: bigint, key: Uint8Array, born: number, summarized: number) {
  const v = runs.whole(cpu, gen);
  runs.bytes.set(key, cpu * runs.size + STORM_RUN.key);
  v.setBigUint64(STORM_RUN.born, BigInt(born), true);
  v.setBigUint64(STORM_RUN.until, 1250n, true);
  v.setBigUint64(STORM_RUN.summarized, BigInt(summarized), true);
}

Deno.test("storm runs: a key's repeats are its entry's and its runs' of the same entry (born); each reported once", () => {
  const map = new HashMap();
  const runs = new PerCpuArray(STORM_RUN.size, 2);
  const counts = new StormCounts(map, 0, new CpuRuns(runs, STORM_RUN.size, 2));
  const k = stormKey(9);
  map.set(k, stormEntry(40, 1000));
  stormRun(runs, 0, 1n, k, 1000, 10);
  stormRun(runs, 1, 1n, k, 900, 99); // a run of an earlier entry of the key (deleted since): not this entry's
  assertEquals(counts.take(1e9).map((r) => r.count), [50]);
  // CPU 0's run is being ended: its 15 repeats are in neither place for a moment
  runs.view(0).setBigUint64(STORM_RUN.summarized, 15n, true);
  runs.torn(0);
  assertEquals(counts.take(2e9), [], "a count that went down while a run was replaced");
  // then in the entry: only the 5 new ones are reported
  map.set(k, stormEntry(55, 1000));
  runs.view(0).setBigUint64(STORM_RUN.until, 0n, true);
  assertEquals(counts.take(3e9).map((r) => r.count), [5]);
  // a new run on CPU 1 of this entry
  stormRun(runs, 1, 2n, k, 1000, 7);
  assertEquals(counts.take(4e9).map((r) => r.count), [7]);
});

function dropKey(location: bigint, reason: number, ifindex: number, netns: number): Uint8Array {
  const k = new Uint8Array(DROP_COUNT_KEY.size);
  const v = new DataView(k.buffer);
  v.setBigUint64(DROP_COUNT_KEY.location, location, true);
  v.setUint32(DROP_COUNT_KEY.reason, reason, true);
  v.setUint32(DROP_COUNT_KEY.ifindex, ifindex, true);
  v.setUint32(DROP_COUNT_KEY.netns, netns, true);
  return k;
}

const u64 = (n: number) => new Uint8Array(new BigUint64Array([BigInt(n)]).buffer);

function dropRun(runs: PerCpuArray, cpu: number, gen: bigint, key: Uint8Array, count: number) {
  runs.whole(cpu, gen).setBigUint64(DROP_COUNT_RUN.count, BigInt(count), true);
  runs.bytes.set(key, cpu * runs.size + DROP_COUNT_RUN.key);
}

Deno.test("drop count runs: added to their key's count, a key only in a run shown, a full map's new key 'other'", () => {
  const map = new HashMap(3);
  const runs = new PerCpuArray(DROP_COUNT_RUN.size, 2);
  const counts = new DropCounts(map as unknown as BpfMap, new CpuRuns(runs, DROP_COUNT_RUN.size, 2));
  const other = dropKey(0n, 0, 0, 0),
    a = dropKey(0xffffffff81000010n, 3, 2, 7),
    b = dropKey(0xffffffff81000020n, 5, 2, 7);
  map.set(other, u64(0));
  map.set(a, u64(100));
  dropRun(runs, 0, 1n, a, 25);
  dropRun(runs, 1, 1n, b, 4);
  const byReason = () => Object.fromEntries(counts.read().map((c) => [c.reason, c.count]));
  assertEquals(byReason(), { 0: 0, 3: 125, 5: 4 });
  // the map fills up (b went in, then a third key); a run of a fourth key counts as "other" until it ends
  map.set(b, u64(4));
  dropRun(runs, 1, 2n, dropKey(0xffffffff81000030n, 9, 2, 7), 6);
  assertEquals(byReason(), { 0: 6, 3: 125, 5: 4 });
  // CPU 0's run is being put into the map: a's count does not go down meanwhile
  runs.torn(0);
  assertEquals(byReason()[3], 125, "a counter went down");
  map.set(a, u64(125));
  dropRun(runs, 0, 3n, a, 1);
  assertEquals(byReason()[3], 126);
  assert(counts.read().every((c) => c.count >= 0));
});
