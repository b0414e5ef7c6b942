/**
 * Names of link-layer (ethertype) and IP protocols: for -p/--proto and for
 * printing packets of protocols nettrace does not decode further.
 * @module
 */

/** Ethertypes by the name -p accepts; the first name of a value is the one printed. */
export const ETHERTYPES: ReadonlyArray<readonly [string, number, string]> = [
  ["ip", 0x0800, "IPv4"],
  ["ipv4", 0x0800, "IPv4"],
  ["ipv6", 0x86dd, "IPv6"],
  ["arp", 0x0806, "ARP"],
  ["rarp", 0x8035, "RARP"],
  ["vlan", 0x8100, "802.1Q"],
  ["8021q", 0x8100, "802.1Q"],
  ["8021ad", 0x88a8, "802.1ad"],
  ["mpls", 0x8847, "MPLS"],
  ["mpls-mc", 0x8848, "MPLS-MC"],
  ["pppoe-disc", 0x8863, "PPPoE-discovery"],
  ["pppoe", 0x8864, "PPPoE"],
  ["eapol", 0x888e, "EAPOL"],
  ["lldp", 0x88cc, "LLDP"],
  ["ptp", 0x88f7, "PTP"],
  ["loop", 0x9000, "LOOP"],
];

/** IP protocol numbers by the name -p accepts, and the name printed. */
export const IP_PROTOCOLS: ReadonlyArray<readonly [string, number, string]> = [
  ["icmp", 1, "ICMP"],
  ["igmp", 2, "IGMP"],
  ["ipip", 4, "IPIP"],
  ["tcp", 6, "TCP"],
  ["udp", 17, "UDP"],
  ["ipv6-in-ip", 41, "IPv6-in-IP"],
  ["rsvp", 46, "RSVP"],
  ["gre", 47, "GRE"],
  ["esp", 50, "ESP"],
  ["ah", 51, "AH"],
  ["icmpv6", 58, "ICMPv6"],
  ["icmp6", 58, "ICMPv6"],
  ["ospf", 89, "OSPF"],
  ["pim", 103, "PIM"],
  ["vrrp", 112, "VRRP"],
  ["l2tp", 115, "L2TP"],
  ["sctp", 132, "SCTP"],
  ["udplite", 136, "UDPLite"],
];

const ethertypeNames = new Map<number, string>();
for (const [, v, print] of ETHERTYPES) if (!ethertypeNames.has(v)) ethertypeNames.set(v, print);
const ipProtoNames = new Map<number, string>();
for (const [, v, print] of IP_PROTOCOLS) if (!ipProtoNames.has(v)) ipProtoNames.set(v, print);

/** Printed name of an ethertype: "ARP", or "ethertype 0x88b5". */
export function ethertypeName(t: number): string {
  return ethertypeNames.get(t) ?? `ethertype 0x${t.toString(16).padStart(4, "0")}`;
}

/** Printed name of an IP protocol: "GRE", or "IP proto 253". */
export function ipProtocolName(p: number): string {
  return ipProtoNames.get(p) ?? `IP proto ${p}`;
}
