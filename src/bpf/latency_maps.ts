/**
 * Reading --latency-summary's counts from the lifecycle program's maps
 * lat_stats (struct nt_latency per point and CPU; the entry after the last
 * point counts the packets) and lat_slots (a u64 per point, bucket and CPU).
 * @module
 */
import type { BpfMap } from "../../lib/ffi/bpf_object.ts";
import { libbpf } from "../../lib/ffi/libbpf.ts";
import { PerCpuCounters } from "./stats.ts";
import {
  type CpuLatency,
  LATENCY_SLOTS,
  mergeLatency,
  type PointLatency,
  slowestFirst,
} from "../life/latency_histogram.ts";

/** struct nt_latency: count, sum_ns, min_ns, max_ns (u64 each). */
const NT_LATENCY_SIZE = 32;

/** Every point's latencies (names: by point index, undefined for a point not attached), and the packets counted. */
export function readLatencies(
  stats: BpfMap,
  slots: BpfMap,
  names: ReadonlyArray<string | undefined>,
): { points: PointLatency[]; packets: number } {
  const cpus = Math.max(libbpf().libbpf_num_possible_cpus(), 1);
  const statValue = new BigUint64Array(cpus * NT_LATENCY_SIZE / 8);
  const key = new Uint32Array(1);
  const keyBytes = new Uint8Array(key.buffer);
  const readStats = (i: number): CpuLatency[] => {
    key[0] = i;
    if (!stats.lookup(keyBytes, new Uint8Array(statValue.buffer))) return [];
    return Array.from({ length: cpus }, (_, c) => ({
      count: Number(statValue[c * 4]),
      sumNs: Number(statValue[c * 4 + 1]),
      minNs: Number(statValue[c * 4 + 2]),
      maxNs: Number(statValue[c * 4 + 3]),
    }));
  };
  const slotCounts = new PerCpuCounters(slots);
  const points: PointLatency[] = [];
  names.forEach((name, i) => {
    if (name === undefined) return;
    const cpuStats = readStats(i);
    if (!cpuStats.some((c) => c.count > 0)) return;
    const buckets = Array.from({ length: LATENCY_SLOTS }, (_, b) => slotCounts.read(i * LATENCY_SLOTS + b));
    const p = mergeLatency(name, cpuStats, buckets);
    if (p) points.push(p);
  });
  const packets = readStats(names.length).reduce((n, c) => n + c.count, 0);
  return { points: slowestFirst(points), packets };
}
