/**
 * One-line text of a decoded packet, in nettrace's shape:
 * `TCP: 10.0.0.1:50482 -> 10.0.0.2:9 seq:140685936, ack:0, flags:S`.
 * @module
 */
import type { IcmpHeader, IpPacket, Packet } from "./decode.ts";
import { ethertypeName, ipProtocolName } from "./protocols.ts";
import { tcpFlagsText } from "./tcp_flags.ts";

const ICMP_UNREACH = [
  "net unreachable",
  "host unreachable",
  "protocol unreachable",
  "port unreachable",
  "fragmentation needed",
  "source route failed",
  "net unknown",
  "host unknown",
  "source host isolated",
  "net prohibited",
  "host prohibited",
  "net unreachable for TOS",
  "host unreachable for TOS",
  "communication prohibited",
  "host precedence violation",
  "precedence cutoff",
];
const ICMP6_UNREACH = [
  "no route",
  "administratively prohibited",
  "beyond scope",
  "address unreachable",
  "port unreachable",
  "source address failed policy",
  "reject route",
];

/** Plain words for an ICMP/ICMPv6 type and code. */
export function icmpText(h: IcmpHeader): string {
  const t = h.icmpType, c = h.code;
  if (h.type === "icmp") {
    switch (t) {
      case 0:
        return "ping reply";
      case 8:
        return "ping request";
      case 3:
        return `dest unreachable (${ICMP_UNREACH[c] ?? `code ${c}`})`;
      case 4:
        return "source quench";
      case 5:
        return `redirect (code ${c})`;
      case 11:
        return c === 0 ? "time exceeded (TTL)" : "time exceeded (reassembly)";
      case 12:
        return "parameter problem";
      case 13:
        return "timestamp request";
      case 14:
        return "timestamp reply";
      default:
        return `type ${t}, code ${c}`;
    }
  }
  switch (t) {
    case 128:
      return "ping request";
    case 129:
      return "ping reply";
    case 1:
      return `dest unreachable (${ICMP6_UNREACH[c] ?? `code ${c}`})`;
    case 2:
      return "packet too big";
    case 3:
      return c === 0 ? "time exceeded (hop limit)" : "time exceeded (reassembly)";
    case 4:
      return "parameter problem";
    case 133:
      return "router solicitation";
    case 134:
      return "router advertisement";
    case 135:
      return "neighbor solicitation";
    case 136:
      return "neighbor advertisement";
    case 137:
      return "redirect";
    case 143:
      return "MLDv2 report";
    default:
      return `type ${t}, code ${c}`;
  }
}

function endpoint(pkt: IpPacket, addr: string, port: number): string {
  return pkt.family === 6 ? `[${addr}]:${port}` : `${addr}:${port}`;
}

function formatIp(pkt: IpPacket): string {
  const t = pkt.transport;
  let s: string;
  if (t?.type === "tcp") {
    s = `TCP: ${endpoint(pkt, pkt.saddr, t.sport)} -> ${endpoint(pkt, pkt.daddr, t.dport)} ` +
      `seq:${t.seq}, ack:${t.ack}, flags:${tcpFlagsText(t.flags)}`;
  } else if (t?.type === "udp") {
    s = `UDP: ${endpoint(pkt, pkt.saddr, t.sport)} -> ${endpoint(pkt, pkt.daddr, t.dport)} len:${t.length}`;
  } else if (t) {
    s = `${t.type === "icmp" ? "ICMP" : "ICMPv6"}: ${pkt.saddr} -> ${pkt.daddr} ${icmpText(t)}`;
    if (t.echo) s += `, id:${t.echo.id}, seq:${t.echo.seq}`;
  } else {
    s = `${ipProtocolName(pkt.protocol)}: ${pkt.saddr} -> ${pkt.daddr}`;
    if (pkt.fragment) s += " fragment";
  }
  return pkt.problem ? `${s} [${pkt.problem}]` : s;
}

/** The packet part of an output line. */
export function formatPacket(pkt: Packet): string {
  switch (pkt.kind) {
    case "ip":
      return formatIp(pkt);
    case "arp": {
      const op = pkt.op === 1 ? "request" : pkt.op === 2 ? "reply" : `op ${pkt.op}`;
      return `ARP: ${pkt.senderIp} -> ${pkt.targetIp} ${op}, sender ${pkt.senderMac}`;
    }
    case "other":
      return pkt.problem ? `${ethertypeName(pkt.l3Proto)} [${pkt.problem}]` : ethertypeName(pkt.l3Proto);
  }
}
