/**
 * Reading --metrics' `drop_counts` map (bpf/include/drop_counts.h): every
 * drop since start, counted by reason, location, device and netns. The
 * all-zero key holds the drops that found the map full ("other").
 * @module
 */
import type { BpfMap } from "../../lib/ffi/bpf_object.ts";
import { DROP_COUNT_KEY_SIZE } from "./drop_program.ts";

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

/** Every key's count now (a snapshot: the kernel adds meanwhile). */
export function readDropCounts(map: BpfMap): DropCount[] {
  // struct nt_drop_count_key: location u64, reason u32, ifindex u32, netns u32
  return readKeyCounts(map, DROP_COUNT_KEY_SIZE, (v) => ({
    location: v.getBigUint64(0, true),
    reason: v.getUint32(8, true),
    ifindex: v.getUint32(12, true),
    netns: v.getUint32(16, true),
  }));
}
