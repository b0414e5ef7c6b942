/**
 * A connection's RTT samples as --rtt counts them in the kernel (struct
 * nt_rtt_conn, the value of map rtt_conns): decoded from the map's bytes.
 * Pure.
 * @module
 */
import { RTT_CONN, RTT_SLOTS } from "./layout.ts";
import { formatIPv4, formatIPv6 } from "../packet/address.ts";

/** One TCP connection's RTT samples. */
export interface RttConnection {
  /** the socket's address (the map's key) */
  sk: bigint;
  family: 4 | 6;
  /** local address and port, remote address and port */
  saddr: string;
  sport: number;
  daddr: string;
  dport: number;
  samples: number;
  sumUs: number;
  minUs: number;
  maxUs: number;
  /** smoothed RTT and minimum RTT as of the last sample */
  srttUs: number;
  minRttUs: number;
  /** samples by log2 microseconds: slot i holds [2^i, 2^(i+1)) µs (the last one, from 2^31 µs, has no end) */
  slots: number[];
}

/** The microseconds slot i of a histogram starts at and ends before (Infinity for the last one). */
export function rttSlotRange(i: number): [number, number] {
  return [2 ** i, i === RTT_SLOTS - 1 ? Infinity : 2 ** (i + 1)];
}

/** Decodes one map entry: key (struct nt_rtt_key: the socket first) and value (struct nt_rtt_conn). */
export function decodeRttConnection(key: Uint8Array, value: Uint8Array): RttConnection {
  const v = new DataView(value.buffer, value.byteOffset, value.byteLength);
  const u32 = (off: number) => v.getUint32(off, true);
  const u64 = (off: number) => Number(v.getBigUint64(off, true));
  const family = v.getUint16(RTT_CONN.family, true) === 10 ? 6 : 4;
  const addr = (off: number) => (family === 4 ? formatIPv4(value, off) : formatIPv6(value, off));
  return {
    sk: new DataView(key.buffer, key.byteOffset, 8).getBigUint64(0, true),
    family,
    saddr: addr(RTT_CONN.saddr),
    sport: v.getUint16(RTT_CONN.sport, true),
    daddr: addr(RTT_CONN.daddr),
    dport: v.getUint16(RTT_CONN.dport, true),
    samples: u64(RTT_CONN.count),
    sumUs: u64(RTT_CONN.sum_us),
    minUs: u32(RTT_CONN.min_us),
    maxUs: u32(RTT_CONN.max_us),
    srttUs: u32(RTT_CONN.srtt_us),
    minRttUs: u32(RTT_CONN.min_rtt_us),
    slots: Array.from({ length: RTT_SLOTS }, (_, i) => u32(RTT_CONN.slots + 4 * i)),
  };
}
