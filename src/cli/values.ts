/**
 * Parsers for option values. Each throws UsageError with a line that names
 * the option and what was wrong.
 * @module
 */
import { UsageError } from "../errors.ts";
import { type IpAddress, parseIpAddress } from "../packet/address.ts";
import { ETHERTYPES, IP_PROTOCOLS } from "../packet/protocols.ts";
import { tcpFlagBit } from "../packet/tcp_flags.ts";

/** An IPv4 or IPv6 address. */
export function parseAddressOption(option: string, text: string): IpAddress {
  const a = parseIpAddress(text.trim());
  if (!a) throw new UsageError(`${option}: '${text}' is not an IPv4 or IPv6 address`);
  return a;
}

/** A TCP/UDP port, 1-65535. */
export function parsePortOption(option: string, text: string): number {
  if (!/^\d+$/.test(text)) throw new UsageError(`${option}: '${text}' is not a port number`);
  const n = Number(text);
  if (n < 1 || n > 65535) throw new UsageError(`${option}: port ${text} is out of range (1-65535)`);
  return n;
}

/** A whole number from min to max. */
export function parseIntegerOption(option: string, text: string, min: number, max: number): number {
  if (!/^\d+$/.test(text)) throw new UsageError(`${option}: '${text}' is not a whole number`);
  const n = Number(text);
  if (n < min || n > max) throw new UsageError(`${option}: ${text} is out of range (${min}-${max})`);
  return n;
}

/** The protocol filter: a link-layer protocol (ethertype) or an IP protocol. */
export type ProtocolFilter = { l3Proto?: number; l4Proto?: number };

/** A protocol name for -p: 'tcp', 'udp', 'icmp', 'arp', 'ipv6', ... */
export function parseProtocolOption(option: string, text: string): ProtocolFilter {
  const name = text.trim().toLowerCase();
  const l3 = ETHERTYPES.find(([n]) => n === name);
  if (l3) return { l3Proto: l3[1] };
  const l4 = IP_PROTOCOLS.find(([n]) => n === name);
  if (l4) {
    // ICMPv6 only exists over IPv6, ICMP only over IPv4
    if (l4[1] === 58) return { l3Proto: 0x86dd, l4Proto: 58 };
    if (l4[1] === 1) return { l3Proto: 0x0800, l4Proto: 1 };
    return { l4Proto: l4[1] };
  }
  const known = [...new Set([...ETHERTYPES, ...IP_PROTOCOLS].map(([n]) => n))].join(", ");
  throw new UsageError(`${option}: unknown protocol '${text}' (known: ${known})`);
}

/** Ring buffer size in KiB: a power of two, at least one page. */
export function parseRingSizeOption(option: string, text: string, pageKiB: number): number {
  const kib = parseIntegerOption(option, text, pageKiB, 1 << 20);
  if ((kib & (kib - 1)) !== 0) throw new UsageError(`${option}: ${kib} KiB is not a power of two`);
  return kib * 1024;
}

/** --tcp-flags SAPRF...: the flag byte, from letters. */
export function parseTcpFlagsOption(option: string, text: string): number {
  let bits = 0;
  for (const ch of text.toUpperCase()) {
    const b = tcpFlagBit(ch);
    if (!b) throw new UsageError(`${option}: '${ch}' in '${text}' is not a TCP flag (S, A, P, R, F, U, E, C)`);
    bits |= b;
  }
  if (!bits) throw new UsageError(`${option} needs flag letters, such as S or SA`);
  return bits;
}

/** --pkt-len MIN-MAX or --pkt-len N: a length range in bytes. */
export function parsePacketLengthOption(option: string, text: string): { min: number; max: number } {
  const m = text.match(/^(\d+)(?:-(\d+))?$/);
  if (!m) throw new UsageError(`${option}: '${text}' is not LEN or MIN-MAX`);
  const min = Number(m[1]), max = m[2] === undefined ? min : Number(m[2]);
  if (max < 1 || max > 0xffffffff || min > max) throw new UsageError(`${option}: '${text}' is not a range of lengths`);
  return { min, max };
}

/** --rate-limit N or N/s: events per second per CPU. */
export function parseRateOption(option: string, text: string): number {
  const m = text.match(/^(\d+)(\/s)?$/);
  if (!m || Number(m[1]) < 1 || Number(m[1]) > 0xffffffff) {
    throw new UsageError(`${option}: '${text}' is not a rate such as 1000/s`);
  }
  return Number(m[1]);
}

/** --output-rotate SIZE,COUNT: SIZE in bytes (suffix K, M or G: KiB, MiB, GiB), COUNT old files kept (1-100). */
export function parseRotateOption(option: string, text: string): { size: number; count: number } {
  const m = text.match(/^(\d+)([KMG]?),(\d+)$/i);
  if (!m) throw new UsageError(`${option}: '${text}' is not SIZE,COUNT (e.g. 100M,5)`);
  const size = Number(m[1]) *
    ({ "": 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 } as Record<string, number>)[m[2].toUpperCase()];
  if (size < 4096) throw new UsageError(`${option}: a file of ${size} bytes is too small (at least 4K)`);
  const count = Number(m[3]);
  if (count < 1 || count > 100) throw new UsageError(`${option}: ${count} old files: keep 1 to 100`);
  return { size, count };
}

/** Where --metrics listens: an IP address (IPv6 in brackets) or localhost, and a port (0: any free one). */
export interface ListenAddress {
  readonly hostname: string;
  readonly port: number;
  /** only this host can reach it (loopback) */
  readonly local: boolean;
}

/** ADDR:PORT: 127.0.0.1:9464, [::1]:9464, localhost:9464, 0.0.0.0:9464. */
export function parseListenOption(option: string, text: string): ListenAddress {
  const m = text.match(/^\[([^\]]+)\]:(\d+)$/) ?? text.match(/^([^:\[\]]+):(\d+)$/);
  if (!m) throw new UsageError(`${option}: '${text}' is not ADDR:PORT (such as 127.0.0.1:9464 or [::1]:9464)`);
  const [, host, portText] = m;
  const port = Number(portText);
  if (port > 65535) throw new UsageError(`${option}: port ${portText} is out of range (0-65535)`);
  if (host === "localhost") return { hostname: "127.0.0.1", port, local: true };
  const a = parseIpAddress(host);
  if (!a) throw new UsageError(`${option}: '${host}' is not an IP address or localhost`);
  const local = a.family === 4 ? a.bytes[0] === 127 : a.bytes.every((b, i) => b === (i === 15 ? 1 : 0));
  return { hostname: host, port, local };
}
