/**
 * --storm-limit's records: the identity of a drop the kernel summarized
 * (struct nt_storm_key) and the repeats of one key in one interval. Pure.
 * @module
 */
import { formatIPv4, formatIPv6 } from "../packet/address.ts";
import { ETH_P_IP, ETH_P_IPV6 } from "../packet/decode.ts";
import { STORM_KEY } from "./layout.ts";

/** What makes two drops "the same" for --storm-limit. */
export interface StormKey {
  readonly location: bigint;
  readonly reason: number;
  readonly netns: number;
  /** ethertype */
  readonly l3Proto: number;
  /** IPPROTO_*, 255 when unknown */
  readonly l4Proto: number;
  /** undefined when the packet is not IP */
  readonly saddr?: string;
  readonly daddr?: string;
  /** 0 when the protocol has no ports */
  readonly dport: number;
  /** the key leaves the flow out (--monitor): this drop of every flow; no addresses, no port */
  readonly flowless: boolean;
}

/** Repeats of one drop the kernel counted instead of sending, over `seconds` up to `tsNs`. */
export interface StormRepeats {
  readonly key: StormKey;
  readonly count: number;
  readonly seconds: number;
  /** when they were read, on the kernel's monotonic clock */
  readonly tsNs: number;
}

/** Whether a key's ethertype is IPv4 or IPv6 (its protocol is an IP protocol). */
export function isIp(ethertype: number): boolean {
  return ethertype === ETH_P_IP || ethertype === ETH_P_IPV6;
}

/** Decodes the struct nt_storm_key in bytes. */
export function decodeStormKey(bytes: Uint8Array): StormKey {
  if (bytes.length < STORM_KEY.size) throw new Error(`storm key of ${bytes.length} bytes, want ${STORM_KEY.size}`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const l3Proto = v.getUint16(STORM_KEY.l3_proto, true);
  const flowless = bytes[STORM_KEY.flowless] !== 0;
  const addr = (off: number) =>
    flowless || !isIp(l3Proto) ? undefined : l3Proto === ETH_P_IP ? formatIPv4(bytes, off) : formatIPv6(bytes, off);
  return {
    location: v.getBigUint64(STORM_KEY.location, true),
    reason: v.getUint32(STORM_KEY.reason, true),
    netns: v.getUint32(STORM_KEY.netns, true),
    l3Proto,
    l4Proto: bytes[STORM_KEY.l4_proto],
    saddr: addr(STORM_KEY.saddr),
    daddr: addr(STORM_KEY.daddr),
    dport: v.getUint16(STORM_KEY.dport, true),
    flowless,
  };
}
