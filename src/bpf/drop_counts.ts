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

/** Every key's count now (a snapshot: the kernel adds meanwhile). */
export function readDropCounts(map: BpfMap): DropCount[] {
  const value = new BigUint64Array(1);
  const bytes = new Uint8Array(value.buffer);
  const out: DropCount[] = [];
  for (const key of map.keys(DROP_COUNT_KEY_SIZE)) {
    if (!map.lookup(key, bytes)) continue;
    const v = new DataView(key.buffer);
    // struct nt_drop_count_key: location u64, reason u32, ifindex u32, netns u32
    out.push({
      location: v.getBigUint64(0, true),
      reason: v.getUint32(8, true),
      ifindex: v.getUint32(12, true),
      netns: v.getUint32(16, true),
      count: Number(value[0]),
    });
  }
  return out;
}
