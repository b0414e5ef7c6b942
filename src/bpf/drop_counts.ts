/**
 * Reading --metrics' `drop_counts` map (bpf/include/drop_counts.h): every
 * drop since start, counted by reason, location, device and netns: the map's
 * count plus the CPUs' runs of the key (drop_count_runs: a CPU's drops of one
 * key until a drop of another comes). The all-zero key holds the drops that
 * found the map full ("other").
 * @module
 */
import type { BpfMap, BpfObject } from "../../lib/ffi/bpf_object.ts";
import { DROP_COUNT_KEY, DROP_COUNT_RUN } from "../event/layout.ts";
import { CpuRuns } from "./cpu_runs.ts";

/** One key's drops since start. location 0 (and everything 0): the drops the bounded map could not tell apart. */
export interface DropCount {
  readonly location: bigint;
  readonly reason: number;
  readonly ifindex: number;
  readonly netns: number;
  readonly count: number;
}

/**
 * Every key's count in a map of u64 counters keyed by keySize bytes, each key decoded (a snapshot: the kernel adds
 * meanwhile).
 */
export function readKeyCounts<K>(
  map: BpfMap,
  keySize: number,
  decode: (key: DataView) => K,
): Array<K & { count: number }> {
  const value = new BigUint64Array(1);
  const bytes = new Uint8Array(value.buffer);
  const out: Array<K & { count: number }> = [];
  for (const key of map.keys(keySize)) {
    if (!map.lookup(key, bytes)) continue;
    out.push({ ...decode(new DataView(key.buffer, key.byteOffset, key.byteLength)), count: Number(value[0]) });
  }
  return out;
}

const decodeKey = (v: DataView, at = 0) => ({
  location: v.getBigUint64(at + DROP_COUNT_KEY.location, true),
  reason: v.getUint32(at + DROP_COUNT_KEY.reason, true),
  ifindex: v.getUint32(at + DROP_COUNT_KEY.ifindex, true),
  netns: v.getUint32(at + DROP_COUNT_KEY.netns, true),
});
/** The drops the bounded map could not tell apart. */
const OTHER = { location: 0n, reason: 0, ifindex: 0, netns: 0 };
const keyId = (k: Omit<DropCount, "count">) => `${k.location}/${k.reason}/${k.ifindex}/${k.netns}`;

/**
 * Every key's drops since start. A count never goes down (Prometheus would take that for a restart): a run being
 * replaced while read is in neither the run nor the map for that moment, and such a key keeps the count it had.
 */
export class DropCounts {
  readonly #last = new Map<string, number>();

  constructor(private map: BpfMap, private runs: Pick<CpuRuns, "read">) {}

  /** The counts of a drop object (its `drop_counts` map and `drop_count_runs`). */
  static of(object: BpfObject): DropCounts {
    return new DropCounts(object.map("drop_counts"), new CpuRuns(object.map("drop_count_runs"), DROP_COUNT_RUN.size));
  }

  /** Every key's count now (a snapshot: the kernel adds meanwhile). */
  read(): DropCount[] {
    // the map first, then the runs (cpu_runs.ts: a run's drops are then in one or the other)
    const counts = new Map<string, DropCount>();
    for (const c of readKeyCounts(this.map, DROP_COUNT_KEY.size, decodeKey)) counts.set(keyId(c), c);
    const full = counts.size >= this.map.maxEntries;
    for (const run of this.runs.read()) {
      const n = Number(run.getBigUint64(DROP_COUNT_RUN.count, true));
      if (!n) continue;
      const key = decodeKey(run, DROP_COUNT_RUN.key);
      // a key the full map has no room for goes to "other" when the run ends
      const id = counts.has(keyId(key)) || !full ? keyId(key) : keyId(OTHER);
      const known = counts.get(id);
      counts.set(id, { ...(known ?? (id === keyId(key) ? key : OTHER)), count: (known?.count ?? 0) + n });
    }
    const out: DropCount[] = [];
    for (const [id, c] of counts) {
      const count = Math.max(c.count, this.#last.get(id) ?? 0);
      this.#last.set(id, count);
      out.push(count === c.count ? c : { ...c, count });
    }
    return out;
  }
}
