/**
 * What stays the same for one packet through the whole of its life in the
 * kernel, and differs between two packets that follow each other at one skb
 * address: the kind of network header (ARP or IP), a TCP segment's sequence
 * and acknowledgement numbers, an ICMP echo's id and sequence. NAT rewrites
 * addresses and ports, not these; a tunnel changes the outer protocol, and
 * then nothing is compared. Pure, and cheap: it runs for every lifecycle event.
 * @module
 */
import type { RawPacket } from "./decode.ts";

const ETH_ARP = 0x0806, ETH_IP = 0x0800, ETH_IPV6 = 0x86dd;
const TCP = 6, ICMP = 1, ICMPV6 = 58;

/** "arp", or "ip" with what identifies the packet within its protocol ("ip" alone when nothing does). */
export function packetIdentity(p: RawPacket): string | undefined {
  if (p.l3Proto === ETH_ARP) return "arp";
  if (p.l3Proto !== ETH_IP && p.l3Proto !== ETH_IPV6) return undefined;
  const l4 = p.l4;
  if (p.l4Proto === TCP && l4.length >= 12) {
    const v = new DataView(l4.buffer, l4.byteOffset, 12);
    return `ip tcp ${v.getUint32(4)} ${v.getUint32(8)}`;
  }
  const echo = (p.l4Proto === ICMP && (l4[0] === 8 || l4[0] === 0)) ||
    (p.l4Proto === ICMPV6 && (l4[0] === 128 || l4[0] === 129));
  if (echo && l4.length >= 8) return `ip icmp ${l4[0]} ${l4[4] << 8 | l4[5]} ${l4[6] << 8 | l4[7]}`;
  return "ip";
}

/** Whether two identities cannot belong to one packet: ARP against IP, or one protocol's fields differing. */
export function differentPackets(a: string, b: string): boolean {
  if (a === b) return false;
  if ((a === "arp") !== (b === "arp")) return true;
  // "ip" alone, or two protocols (encapsulated or not): nothing to compare
  const pa = a.split(" ", 2)[1], pb = b.split(" ", 2)[1];
  return pa !== undefined && pa === pb;
}
