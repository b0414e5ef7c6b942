/**
 * Decoding the headers the BPF side copied out of an skb (struct nt_packet)
 * into typed packets. Pure: no kernel, no FFI. Short or malformed headers
 * never throw: the packet carries a `problem` saying what was wrong.
 * @module
 */
import { formatIPv4, formatIPv6 } from "./address.ts";

/** Ethertypes decoded here. */
export const ETH_P_IP = 0x0800;
export const ETH_P_IPV6 = 0x86dd;
export const ETH_P_ARP = 0x0806;

/** IP protocols decoded here. */
export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_ICMPV6 = 58;
/** What the BPF side puts in l4_proto when it found none. */
export const L4_UNKNOWN = 255;

/** The raw headers of one packet, as copied in the kernel. */
export interface RawPacket {
  /** ethertype (skb->protocol), host order */
  l3Proto: number;
  /** network header bytes actually present */
  l3: Uint8Array;
  /** IP protocol of the transport header (after IPv6 extension headers), 255 if unknown */
  l4Proto: number;
  /** transport header bytes actually present */
  l4: Uint8Array;
}

/** A TCP header. */
export interface TcpHeader {
  type: "tcp";
  sport: number;
  dport: number;
  seq: number;
  ack: number;
  /** TCP flag bits (FIN 0x01 ... CWR 0x80) */
  flags: number;
  window: number;
}

/** A UDP header. */
export interface UdpHeader {
  type: "udp";
  sport: number;
  dport: number;
  length: number;
}

/** An ICMP or ICMPv6 header. */
export interface IcmpHeader {
  type: "icmp" | "icmpv6";
  icmpType: number;
  code: number;
  /** echo identifier and sequence, for echo request/reply */
  echo?: { id: number; seq: number };
}

/** A transport header nettrace decodes. */
export type TransportHeader = TcpHeader | UdpHeader | IcmpHeader;

/** An IPv4 or IPv6 packet. */
export interface IpPacket {
  kind: "ip";
  family: 4 | 6;
  saddr: string;
  daddr: string;
  /** IP protocol number of the transport header */
  protocol: number;
  /** total length (IPv4) or payload length + 40 (IPv6) */
  length: number;
  ttl: number;
  /** a non-first fragment: no transport header */
  fragment: boolean;
  transport?: TransportHeader;
  problem?: string;
}

/** An ARP packet (IPv4 over Ethernet). */
export interface ArpPacket {
  kind: "arp";
  op: number;
  senderIp: string;
  targetIp: string;
  senderMac: string;
  problem?: string;
}

/** A packet of a protocol not decoded here, or one with no network header. */
export interface OtherPacket {
  kind: "other";
  l3Proto: number;
  problem?: string;
}

/** Any decoded packet. */
export type Packet = IpPacket | ArpPacket | OtherPacket;

function u16(b: Uint8Array, o: number): number {
  return (b[o] << 8) | b[o + 1];
}

function u32(b: Uint8Array, o: number): number {
  return ((b[o] << 24) >>> 0) + ((b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]);
}

function mac(b: Uint8Array, o: number): string {
  const parts: string[] = [];
  for (let i = 0; i < 6; i++) parts.push(b[o + i].toString(16).padStart(2, "0"));
  return parts.join(":");
}

/** Decodes the transport header; a problem text when it is short. */
export function decodeTransport(proto: number, l4: Uint8Array): TransportHeader | string | undefined {
  switch (proto) {
    case IPPROTO_TCP:
      if (l4.length < 20) return `truncated TCP header (${l4.length} bytes)`;
      return {
        type: "tcp",
        sport: u16(l4, 0),
        dport: u16(l4, 2),
        seq: u32(l4, 4),
        ack: u32(l4, 8),
        flags: l4[13],
        window: u16(l4, 14),
      };
    case IPPROTO_UDP:
      if (l4.length < 8) return `truncated UDP header (${l4.length} bytes)`;
      return { type: "udp", sport: u16(l4, 0), dport: u16(l4, 2), length: u16(l4, 4) };
    case IPPROTO_ICMP:
    case IPPROTO_ICMPV6: {
      const type = proto === IPPROTO_ICMP ? "icmp" : "icmpv6";
      if (l4.length < 4) return `truncated ${type === "icmp" ? "ICMP" : "ICMPv6"} header (${l4.length} bytes)`;
      const h: IcmpHeader = { type, icmpType: l4[0], code: l4[1] };
      const isEcho = type === "icmp" ? l4[0] === 0 || l4[0] === 8 : l4[0] === 128 || l4[0] === 129;
      if (isEcho && l4.length >= 8) h.echo = { id: u16(l4, 4), seq: u16(l4, 6) };
      return h;
    }
    default:
      return undefined;
  }
}

function decodeIPv4(raw: RawPacket): IpPacket | OtherPacket {
  const b = raw.l3;
  if (b.length < 20) {
    return { kind: "other", l3Proto: raw.l3Proto, problem: `truncated IPv4 header (${b.length} bytes)` };
  }
  if (b[0] >> 4 !== 4) return { kind: "other", l3Proto: raw.l3Proto, problem: `not IPv4 (version ${b[0] >> 4})` };
  const pkt: IpPacket = {
    kind: "ip",
    family: 4,
    saddr: formatIPv4(b, 12),
    daddr: formatIPv4(b, 16),
    protocol: b[9],
    length: u16(b, 2),
    ttl: b[8],
    fragment: (u16(b, 6) & 0x1fff) !== 0,
  };
  if ((b[0] & 0xf) < 5) {
    pkt.problem = `bad IPv4 header length ${(b[0] & 0xf) * 4}`;
    return pkt;
  }
  if (!pkt.fragment) attachTransport(pkt, raw.l4);
  return pkt;
}

function decodeIPv6(raw: RawPacket): IpPacket | OtherPacket {
  const b = raw.l3;
  if (b.length < 40) {
    return { kind: "other", l3Proto: raw.l3Proto, problem: `truncated IPv6 header (${b.length} bytes)` };
  }
  if (b[0] >> 4 !== 6) return { kind: "other", l3Proto: raw.l3Proto, problem: `not IPv6 (version ${b[0] >> 4})` };
  const protocol = raw.l4Proto === L4_UNKNOWN ? b[6] : raw.l4Proto;
  const pkt: IpPacket = {
    kind: "ip",
    family: 6,
    saddr: formatIPv6(b, 8),
    daddr: formatIPv6(b, 24),
    protocol,
    length: u16(b, 4) + 40,
    ttl: b[7],
    // the BPF side found the protocol behind a fragment header but no transport header
    fragment: raw.l4.length === 0 && raw.l4Proto !== L4_UNKNOWN && raw.l4Proto !== b[6],
  };
  if (!pkt.fragment) attachTransport(pkt, raw.l4);
  return pkt;
}

function attachTransport(pkt: IpPacket, l4: Uint8Array): void {
  const t = decodeTransport(pkt.protocol, l4);
  if (typeof t === "string") pkt.problem = t;
  else if (t) pkt.transport = t;
}

function decodeArp(raw: RawPacket): ArpPacket | OtherPacket {
  const b = raw.l3;
  if (b.length < 28) {
    return { kind: "other", l3Proto: raw.l3Proto, problem: `truncated ARP header (${b.length} bytes)` };
  }
  if (u16(b, 2) !== ETH_P_IP || b[4] !== 6 || b[5] !== 4) {
    return { kind: "other", l3Proto: raw.l3Proto, problem: "ARP for other than IPv4 over Ethernet" };
  }
  return {
    kind: "arp",
    op: u16(b, 6),
    senderMac: mac(b, 8),
    senderIp: formatIPv4(b, 14),
    targetIp: formatIPv4(b, 24),
  };
}

/** Decodes one packet's headers. Never throws. */
export function decodePacket(raw: RawPacket): Packet {
  if (raw.l3.length === 0) return { kind: "other", l3Proto: raw.l3Proto, problem: "no network header" };
  switch (raw.l3Proto) {
    case ETH_P_IP:
      return decodeIPv4(raw);
    case ETH_P_IPV6:
      return decodeIPv6(raw);
    case ETH_P_ARP:
      return decodeArp(raw);
    default:
      return { kind: "other", l3Proto: raw.l3Proto };
  }
}
