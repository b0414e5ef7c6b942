import { assertEquals } from "../helpers/assert.ts";
import { decodePacket, type IpPacket, type RawPacket } from "../../src/packet/decode.ts";
import { formatPacket } from "../../src/packet/format.ts";
import { tcpFlagsText } from "../../src/packet/tcp_flags.ts";

function ipv4(proto: number, extra: Partial<{ frag: number; ihl: number; version: number }> = {}): number[] {
  const ihl = extra.ihl ?? 5, frag = extra.frag ?? 0;
  return [
    ((extra.version ?? 4) << 4) | ihl,
    0,
    0,
    60,
    0x12,
    0x34,
    frag >> 8,
    frag & 0xff,
    64,
    proto,
    0,
    0,
    10,
    231,
    0,
    1,
    10,
    231,
    0,
    2,
  ];
}

function ipv6(next: number): number[] {
  const a = [0x60, 0, 0, 0, 0, 20, next, 64];
  const src = [0xfd, 0, 2, 0x31, ...new Array(11).fill(0), 1];
  const dst = [0xfd, 0, 2, 0x31, ...new Array(11).fill(0), 2];
  return [...a, ...src, ...dst];
}

const tcpSyn = [0xc5, 0x52, 0, 9, 0x08, 0x62, 0xbb, 0x10, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0];
const udp = [0x13, 0x88, 0, 53, 0, 22, 0, 0];

function raw(l3Proto: number, l3: number[], l4Proto: number, l4: number[]): RawPacket {
  return { l3Proto, l3: new Uint8Array(l3), l4Proto, l4: new Uint8Array(l4) };
}

const line = (r: RawPacket) => formatPacket(decodePacket(r));

Deno.test("packet: TCP over IPv4 with seq, ack and flags", () => {
  assertEquals(
    line(raw(0x0800, ipv4(6), 6, tcpSyn)),
    "TCP: 10.231.0.1:50514 -> 10.231.0.2:9 seq:140688144, ack:0, flags:S",
  );
  const p = decodePacket(raw(0x0800, ipv4(6), 6, tcpSyn)) as IpPacket;
  assertEquals(p.ttl, 64);
  assertEquals(p.length, 60);
});

Deno.test("packet: TCP flags in nettrace's order", () => {
  assertEquals(tcpFlagsText(0x12), "SA");
  assertEquals(tcpFlagsText(0x14), "AR");
  assertEquals(tcpFlagsText(0x18), "AP");
  assertEquals(tcpFlagsText(0x11), "AF");
  assertEquals(tcpFlagsText(0xff), "SAPRFUEC");
  assertEquals(tcpFlagsText(0), "");
});

Deno.test("packet: UDP over IPv4 and IPv6", () => {
  assertEquals(line(raw(0x0800, ipv4(17), 17, udp)), "UDP: 10.231.0.1:5000 -> 10.231.0.2:53 len:22");
  assertEquals(line(raw(0x86dd, ipv6(17), 17, udp)), "UDP: [fd00:231::1]:5000 -> [fd00:231::2]:53 len:22");
});

Deno.test("packet: ICMP echo, unreachable and time exceeded", () => {
  assertEquals(
    line(raw(0x0800, ipv4(1), 1, [8, 0, 0, 0, 0x12, 0x34, 0, 7])),
    "ICMP: 10.231.0.1 -> 10.231.0.2 ping request, id:4660, seq:7",
  );
  assertEquals(
    line(raw(0x0800, ipv4(1), 1, [0, 0, 0, 0, 0, 1, 0, 2])),
    "ICMP: 10.231.0.1 -> 10.231.0.2 ping reply, id:1, seq:2",
  );
  assertEquals(
    line(raw(0x0800, ipv4(1), 1, [3, 3, 0, 0, 0, 0, 0, 0])),
    "ICMP: 10.231.0.1 -> 10.231.0.2 dest unreachable (port unreachable)",
  );
  assertEquals(
    line(raw(0x0800, ipv4(1), 1, [11, 0, 0, 0, 0, 0, 0, 0])),
    "ICMP: 10.231.0.1 -> 10.231.0.2 time exceeded (TTL)",
  );
});

Deno.test("packet: ICMPv6 echo and neighbor discovery", () => {
  assertEquals(
    line(raw(0x86dd, ipv6(58), 58, [128, 0, 0, 0, 0, 5, 0, 1])),
    "ICMPv6: fd00:231::1 -> fd00:231::2 ping request, id:5, seq:1",
  );
  assertEquals(
    line(raw(0x86dd, ipv6(58), 58, [135, 0, 0, 0, 0, 0, 0, 0])),
    "ICMPv6: fd00:231::1 -> fd00:231::2 neighbor solicitation",
  );
});

Deno.test("packet: IPv6 with extension headers uses the protocol the kernel side found", () => {
  // next header 0 (hop-by-hop) in the fixed header, TCP behind it
  assertEquals(
    line(raw(0x86dd, ipv6(0), 6, tcpSyn)),
    "TCP: [fd00:231::1]:50514 -> [fd00:231::2]:9 seq:140688144, ack:0, flags:S",
  );
});

Deno.test("packet: ARP request and reply", () => {
  const arp = (
    op: number,
  ) => [0, 1, 8, 0, 6, 4, 0, op, 2, 0, 0, 0, 0, 1, 10, 231, 0, 1, 0, 0, 0, 0, 0, 0, 10, 231, 0, 2];
  assertEquals(line(raw(0x0806, arp(1), 255, [])), "ARP: 10.231.0.1 -> 10.231.0.2 request, sender 02:00:00:00:00:01");
  assertEquals(line(raw(0x0806, arp(2), 255, [])), "ARP: 10.231.0.1 -> 10.231.0.2 reply, sender 02:00:00:00:00:01");
});

Deno.test("packet: other protocols are named", () => {
  assertEquals(line(raw(0x0800, ipv4(47), 47, [0, 0, 0x08, 0])), "GRE: 10.231.0.1 -> 10.231.0.2");
  assertEquals(line(raw(0x0800, ipv4(253), 253, [])), "IP proto 253: 10.231.0.1 -> 10.231.0.2");
  assertEquals(line(raw(0x88cc, [1, 2, 3], 255, [])), "LLDP");
  assertEquals(line(raw(0x88b5, [1], 255, [])), "ethertype 0x88b5");
});

Deno.test("packet: fragments carry no transport header", () => {
  assertEquals(line(raw(0x0800, ipv4(17, { frag: 185 }), 17, [])), "UDP: 10.231.0.1 -> 10.231.0.2 fragment");
});

Deno.test("packet: truncated and malformed headers give a marker, never an exception", () => {
  assertEquals(line(raw(0x0800, [], 255, [])), "IPv4 [no network header]");
  assertEquals(line(raw(0x0800, ipv4(6).slice(0, 12), 255, [])), "IPv4 [truncated IPv4 header (12 bytes)]");
  assertEquals(line(raw(0x0800, ipv4(6, { version: 6 }), 6, tcpSyn)), "IPv4 [not IPv4 (version 6)]");
  assertEquals(
    line(raw(0x0800, ipv4(6, { ihl: 3 }), 6, tcpSyn)),
    "TCP: 10.231.0.1 -> 10.231.0.2 [bad IPv4 header length 12]",
  );
  assertEquals(
    line(raw(0x0800, ipv4(6), 6, tcpSyn.slice(0, 10))),
    "TCP: 10.231.0.1 -> 10.231.0.2 [truncated TCP header (10 bytes)]",
  );
  assertEquals(
    line(raw(0x0800, ipv4(17), 17, [1, 2])),
    "UDP: 10.231.0.1 -> 10.231.0.2 [truncated UDP header (2 bytes)]",
  );
  assertEquals(line(raw(0x0800, ipv4(1), 1, [8])), "ICMP: 10.231.0.1 -> 10.231.0.2 [truncated ICMP header (1 bytes)]");
  assertEquals(line(raw(0x86dd, ipv6(6).slice(0, 30), 6, [])), "IPv6 [truncated IPv6 header (30 bytes)]");
  assertEquals(line(raw(0x0806, [0, 1, 8, 0], 255, [])), "ARP [truncated ARP header (4 bytes)]");
  // random bytes of every length decode without throwing
  for (let n = 0; n <= 40; n++) {
    for (const proto of [0x0800, 0x86dd, 0x0806, 0]) {
      const bytes = Array.from({ length: n }, (_, i) => (i * 37 + n) & 0xff);
      formatPacket(decodePacket(raw(proto, bytes, bytes[9] ?? 6, bytes.slice(0, n % 21))));
    }
  }
});
