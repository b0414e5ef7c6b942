/**
 * The kernel-side filter: what the user asked for, as the bytes of
 * struct nt_filter written into the BPF object's .rodata before load.
 * @module
 */
import type { IpAddress } from "../packet/address.ts";
import { ADDR_FILTER, FILTER } from "../event/layout.ts";

/** Filters that run in the kernel. Unset fields match everything. */
export interface PacketFilter {
  saddr?: IpAddress;
  daddr?: IpAddress;
  addr?: IpAddress;
  sport?: number;
  dport?: number;
  port?: number;
  /** ethertype */
  l3Proto?: number;
  /** IP protocol number */
  l4Proto?: number;
  netns?: number;
  pid?: number;
  /** skb->len range where the event fires */
  len?: { min: number; max: number };
  /** TCP packets with any of these flags (the TCP header's flag byte) */
  tcpFlags?: number;
}

function putAddr(b: Uint8Array, off: number, a: IpAddress | undefined): void {
  if (!a) return;
  b[off + ADDR_FILTER.family] = a.family;
  b.set(a.bytes, off + ADDR_FILTER.addr);
}

/** struct nt_filter bytes for f. */
export function encodeFilter(f: PacketFilter): Uint8Array {
  const b = new Uint8Array(FILTER.size);
  const v = new DataView(b.buffer);
  putAddr(b, FILTER.saddr, f.saddr);
  putAddr(b, FILTER.daddr, f.daddr);
  putAddr(b, FILTER.addr, f.addr);
  v.setUint16(FILTER.sport, f.sport ?? 0, true);
  v.setUint16(FILTER.dport, f.dport ?? 0, true);
  v.setUint16(FILTER.port, f.port ?? 0, true);
  v.setUint16(FILTER.l3_proto, f.l3Proto ?? 0, true);
  v.setUint8(FILTER.l4_proto, f.l4Proto ?? 0);
  v.setUint32(FILTER.netns, f.netns ?? 0, true);
  v.setUint32(FILTER.pid, f.pid ?? 0, true);
  v.setUint32(FILTER.len_min, f.len?.min ?? 0, true);
  v.setUint32(FILTER.len_max, f.len?.max ?? 0, true);
  v.setUint8(FILTER.tcp_flags, f.tcpFlags ?? 0);
  return b;
}
