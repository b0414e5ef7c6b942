/**
 * Packets built byte by byte for the filter expression tests: Ethernet (with
 * VLAN tags), ARP, IPv4 (options, fragments), IPv6 (extension headers), TCP,
 * UDP, ICMP, ICMPv6 and SCTP. Checksums are left 0: no filter reads them.
 * @module
 */

const bytesOf = (...parts: Array<Uint8Array | number[]>) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};
const be16 = (n: number) => [(n >> 8) & 0xff, n & 0xff];
const be32 = (n: number) => [(n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];

/** "10.0.0.1" -> 4 bytes */
export function ipv4(text: string): number[] {
  return text.split(".").map(Number);
}

/** "fd00::1" -> 16 bytes */
export function ipv6(text: string): number[] {
  const [head, tail] = text.split("::");
  const words = (s: string | undefined) => (s ? s.split(":").map((w) => parseInt(w, 16)) : []);
  const h = words(head), t = words(tail);
  const all = tail === undefined ? h : [...h, ...new Array(8 - h.length - t.length).fill(0), ...t];
  return all.flatMap(be16);
}

/** "02:00:00:00:00:01" -> 6 bytes */
export function mac(text: string): number[] {
  return text.split(":").map((b) => parseInt(b, 16));
}

export const ETH_IP = 0x0800, ETH_IPV6 = 0x86dd, ETH_ARP = 0x0806, ETH_VLAN = 0x8100;

export function ethernet(
  o: { dst?: string; src?: string; type: number; vlans?: number[] },
  payload: Uint8Array,
): Uint8Array {
  const tags = (o.vlans ?? []).flatMap((id) => [...be16(ETH_VLAN), ...be16(id)]);
  return bytesOf(mac(o.dst ?? "02:00:00:00:00:02"), mac(o.src ?? "02:00:00:00:00:01"), tags, be16(o.type), payload);
}

export interface Ip4Options {
  src: string;
  dst: string;
  proto: number;
  ttl?: number;
  tos?: number;
  id?: number;
  /** fragment offset in 8-byte units; more: the MF flag */
  fragOffset?: number;
  more?: boolean;
  dontFragment?: boolean;
  /** IP options bytes (padded to 4) */
  options?: number[];
}

export function ip4(o: Ip4Options, payload: Uint8Array): Uint8Array {
  const opts = o.options ?? [];
  const padded = [...opts, ...new Array((4 - (opts.length % 4)) % 4).fill(0)];
  const ihl = 5 + padded.length / 4;
  const flags = (o.dontFragment ? 0x4000 : 0) | (o.more ? 0x2000 : 0) | (o.fragOffset ?? 0);
  return bytesOf(
    [0x40 | ihl, o.tos ?? 0],
    be16(ihl * 4 + payload.length),
    be16(o.id ?? 1),
    be16(flags),
    [o.ttl ?? 64, o.proto, 0, 0],
    ipv4(o.src),
    ipv4(o.dst),
    padded,
    payload,
  );
}

/** IPv6 with optional extension headers: each [next header type, its bytes after the first two]. */
export function ip6(
  o: { src: string; dst: string; next: number; hopLimit?: number; ext?: Array<{ type: number; body: number[] }> },
  payload: Uint8Array,
): Uint8Array {
  const ext = o.ext ?? [];
  const chain = ext.map((e, i) => {
    const next = i + 1 < ext.length ? ext[i + 1].type : o.next;
    const body = [...e.body, ...new Array((8 - ((e.body.length + 2) % 8)) % 8).fill(0)];
    return [next, (body.length + 2) / 8 - 1, ...body];
  });
  const extBytes = chain.flat();
  const first = ext.length ? ext[0].type : o.next;
  return bytesOf(
    [0x60, 0, 0, 0],
    be16(extBytes.length + payload.length),
    [first, o.hopLimit ?? 64],
    ipv6(o.src),
    ipv6(o.dst),
    extBytes,
    payload,
  );
}

export const TCP_FIN = 1, TCP_SYN = 2, TCP_RST = 4, TCP_PSH = 8, TCP_ACK = 16, TCP_URG = 32;

export function tcp(o: { sport: number; dport: number; flags: number; win?: number; data?: number[] }): Uint8Array {
  return bytesOf(
    be16(o.sport),
    be16(o.dport),
    be32(1000),
    be32(o.flags & TCP_ACK ? 2000 : 0),
    [0x50, o.flags],
    be16(o.win ?? 65535),
    [0, 0, 0, 0],
    o.data ?? [],
  );
}

export function udp(o: { sport: number; dport: number; data?: number[] }): Uint8Array {
  const data = o.data ?? [];
  return bytesOf(be16(o.sport), be16(o.dport), be16(8 + data.length), [0, 0], data);
}

export function icmp(type: number, code = 0): Uint8Array {
  return bytesOf([type, code, 0, 0], be32(0x00010001), [1, 2, 3, 4, 5, 6, 7, 8]);
}

export function icmp6(type: number, code = 0): Uint8Array {
  return bytesOf([type, code, 0, 0], be32(0), new Array(16).fill(0));
}

export function sctp(sport: number, dport: number): Uint8Array {
  return bytesOf(be16(sport), be16(dport), be32(0), be32(0), [1, 0, 0, 16], new Array(12).fill(0));
}

export function arp(op: number, spa: string, tpa: string): Uint8Array {
  return bytesOf(
    be16(1),
    be16(ETH_IP),
    [6, 4],
    be16(op),
    mac("02:00:00:00:00:01"),
    ipv4(spa),
    [0, 0, 0, 0, 0, 0],
    ipv4(tpa),
  );
}
