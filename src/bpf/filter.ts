/**
 * The kernel-side filter: what the user asked for, as the bytes of
 * struct nt_filter written into the BPF object's .rodata before load.
 * @module
 */
import type { IpAddress } from "../packet/address.ts";
import { ADDR_FILTER, FILTER } from "../event/layout.ts";
import type { FilterExpression } from "../filter/expression.ts";
import { HostError } from "../errors.ts";
import { NoFilterRegion, withExpression } from "./pcap_region.ts";

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
  /** a tcpdump expression, compiled (-e or the trailing words) */
  expression?: FilterExpression;
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

/** The read-only values of the filter: struct nt_filter, and whether the expression regions run. */
export function filterReadOnly(f: PacketFilter): Record<string, Uint8Array> {
  return { filter: encodeFilter(f), pcap_filter: new Uint8Array([f.expression ? 1 : 0]) };
}

/** The object's bytes, with the filter expression in its regions when there is one. */
export function filteredObject(bytes: Uint8Array, f: PacketFilter, name: string): Uint8Array {
  if (!f.expression) return bytes;
  try {
    return withExpression(bytes, f.expression, name);
  } catch (e) {
    // the objects built from a kernel's headers (no BTF) have no regions
    if (e instanceof NoFilterRegion) throw new HostError(`${e.message}: filter expressions need a kernel with BTF`);
    throw e;
  }
}
