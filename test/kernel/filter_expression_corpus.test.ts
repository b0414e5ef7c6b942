/**
 * nettrace's translation of tcpdump expressions against libpcap itself: each
 * expression of the corpus is compiled by libpcap, translated, written into
 * the filter regions of bpf/pcap_test.bpf.c and loaded; the kernel test-runs
 * it (BPF_PROG_TEST_RUN) on every packet of the corpus, once from the
 * Ethernet header and once from the IP header, and its verdict must equal
 * pcap_offline_filter's on the same bytes for the same link type.
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { kernelTest } from "../helpers/kernel_env.ts";
import {
  arp,
  ETH_ARP,
  ETH_IP,
  ETH_IPV6,
  ethernet,
  icmp,
  icmp6,
  ip4,
  ip6,
  sctp,
  tcp,
  TCP_ACK,
  TCP_FIN,
  TCP_PSH,
  TCP_RST,
  TCP_SYN,
  TCP_URG,
  udp,
} from "../helpers/packet_builder.ts";
import { BpfObject } from "../../lib/ffi/bpf_object.ts";
import { compileExpression, offlineFilter } from "../../lib/ffi/libpcap.ts";
import { testRunPacket } from "../../lib/ffi/test_run.ts";
import { withExpression } from "../../src/bpf/pcap_region.ts";
import { REGION_INSNS } from "../../src/filter/cbpf_to_ebpf.ts";
import { compileFilterExpression, DLT_EN10MB, DLT_RAW } from "../../src/filter/expression.ts";

const TEST_OBJECT = new URL("../../bpf/.output/pcap_test.bpf.o", import.meta.url);
const PREFIX = 14; // pcap_test.bpf.c: the first byte chooses the region
const XDP_PASS = 2, XDP_DROP = 1;

interface Sample {
  readonly name: string;
  /** the frame, from its Ethernet header */
  readonly frame: Uint8Array;
  /** bytes cut from the frame's end (a truncated capture: loads past the rest fail) */
  readonly cut?: number;
}

const A = "10.199.0.1", B = "10.199.0.2", C = "192.168.7.9", D = "10.1.2.3";
const A6 = "fd00:199::1", B6 = "fd00:199::2", C6 = "2001:db8::7";
const v4 = (o: Parameters<typeof ip4>[0], l4: Uint8Array, vlans?: number[]) =>
  ethernet({ type: ETH_IP, vlans }, ip4(o, l4));
const v6 = (o: Parameters<typeof ip6>[0], l4: Uint8Array) => ethernet({ type: ETH_IPV6 }, ip6(o, l4));
/** UDP to port 6081 carrying a Geneve header (no options, Ethernet inside) and the inner frame. */
const geneve = (inner: Uint8Array) =>
  udp({ sport: 50000, dport: 6081, data: [0, 0, 0x65, 0x58, 0, 0, 1, 0, ...inner] });

const SAMPLES: Sample[] = [
  { name: "udp A:5353 > B:5353", frame: v4({ src: A, dst: B, proto: 17 }, udp({ sport: 5353, dport: 5353 })) },
  { name: "udp A:40000 > B:9999", frame: v4({ src: A, dst: B, proto: 17 }, udp({ sport: 40000, dport: 9999 })) },
  { name: "udp B:9999 > A:40000", frame: v4({ src: B, dst: A, proto: 17 }, udp({ sport: 9999, dport: 40000 })) },
  { name: "udp C:53 > D:33000", frame: v4({ src: C, dst: D, proto: 17 }, udp({ sport: 53, dport: 33000 })) },
  { name: "udp A > B:1023", frame: v4({ src: A, dst: B, proto: 17 }, udp({ sport: 1024, dport: 1023 })) },
  {
    name: "udp A > B:8080 payload",
    frame: v4({ src: A, dst: B, proto: 17 }, udp({ sport: 5000, dport: 8080, data: new Array(200).fill(7) })),
  },
  {
    name: "tcp SYN A:40001 > B:443",
    frame: v4({ src: A, dst: B, proto: 6 }, tcp({ sport: 40001, dport: 443, flags: TCP_SYN })),
  },
  {
    name: "tcp SYN-ACK B:443 > A",
    frame: v4({ src: B, dst: A, proto: 6 }, tcp({ sport: 443, dport: 40001, flags: TCP_SYN | TCP_ACK })),
  },
  {
    name: "tcp ACK A > B:443",
    frame: v4({ src: A, dst: B, proto: 6 }, tcp({ sport: 40001, dport: 443, flags: TCP_ACK })),
  },
  {
    name: "tcp PSH-ACK A > B:80 data",
    frame: v4(
      { src: A, dst: B, proto: 6 },
      tcp({ sport: 40002, dport: 80, flags: TCP_PSH | TCP_ACK, data: [0x47, 0x45, 0x54, 0x20] }),
    ),
  },
  {
    name: "tcp RST B:80 > A",
    frame: v4({ src: B, dst: A, proto: 6 }, tcp({ sport: 80, dport: 40002, flags: TCP_RST })),
  },
  {
    name: "tcp RST-ACK C:22 > D",
    frame: v4({ src: C, dst: D, proto: 6 }, tcp({ sport: 22, dport: 50000, flags: TCP_RST | TCP_ACK })),
  },
  {
    name: "tcp FIN-ACK A > B:9999",
    frame: v4({ src: A, dst: B, proto: 6 }, tcp({ sport: 40003, dport: 9999, flags: TCP_FIN | TCP_ACK })),
  },
  {
    name: "tcp URG A > C:23",
    frame: v4({ src: A, dst: C, proto: 6 }, tcp({ sport: 40004, dport: 23, flags: TCP_URG | TCP_ACK })),
  },
  {
    name: "tcp zero window D > A:8080",
    frame: v4({ src: D, dst: A, proto: 6 }, tcp({ sport: 8080, dport: 41000, flags: TCP_ACK, win: 0 })),
  },
  {
    name: "tcp with IP options A > B:443",
    frame: v4({ src: A, dst: B, proto: 6, options: [1, 1, 1, 0] }, tcp({ sport: 40005, dport: 443, flags: TCP_SYN })),
  },
  {
    name: "tcp ttl 1 A > B:443",
    frame: v4({ src: A, dst: B, proto: 6, ttl: 1 }, tcp({ sport: 40006, dport: 443, flags: TCP_SYN })),
  },
  {
    name: "tcp tos 0x10 A > B:22",
    frame: v4({ src: A, dst: B, proto: 6, tos: 0x10 }, tcp({ sport: 40007, dport: 22, flags: TCP_ACK })),
  },
  {
    name: "tcp DF C > D:3306",
    frame: v4({ src: C, dst: D, proto: 6, dontFragment: true }, tcp({ sport: 40008, dport: 3306, flags: TCP_SYN })),
  },
  {
    name: "udp first fragment A > B:9999",
    frame: v4(
      { src: A, dst: B, proto: 17, more: true },
      udp({ sport: 40000, dport: 9999, data: new Array(16).fill(1) }),
    ),
  },
  {
    name: "udp later fragment A > B",
    frame: v4({ src: A, dst: B, proto: 17, fragOffset: 3 }, new Uint8Array([0x9c, 0x40, 0x27, 0x0f, 0, 8, 0, 0])),
  },
  { name: "icmp echo request A > B", frame: v4({ src: A, dst: B, proto: 1 }, icmp(8)) },
  { name: "icmp echo reply B > A", frame: v4({ src: B, dst: A, proto: 1 }, icmp(0)) },
  { name: "icmp port unreachable B > A", frame: v4({ src: B, dst: A, proto: 1 }, icmp(3, 3)) },
  { name: "icmp time exceeded C > A", frame: v4({ src: C, dst: A, proto: 1 }, icmp(11)) },
  { name: "sctp A > B:2905", frame: v4({ src: A, dst: B, proto: 132 }, sctp(2905, 2905)) },
  { name: "gre A > C", frame: v4({ src: A, dst: C, proto: 47 }, new Uint8Array([0, 0, 0x08, 0])) },
  {
    name: "vlan 100 udp A > B:9999",
    frame: v4({ src: A, dst: B, proto: 17 }, udp({ sport: 40000, dport: 9999 }), [100]),
  },
  {
    name: "vlan 200 tcp C > D:443",
    frame: v4({ src: C, dst: D, proto: 6 }, tcp({ sport: 40009, dport: 443, flags: TCP_SYN }), [200]),
  },
  {
    name: "qinq 10/20 udp A > B:53",
    frame: v4({ src: A, dst: B, proto: 17 }, udp({ sport: 40010, dport: 53 }), [10, 20]),
  },
  { name: "arp request A > B", frame: ethernet({ type: ETH_ARP, dst: "ff:ff:ff:ff:ff:ff" }, arp(1, A, B)) },
  {
    name: "arp reply B > A",
    frame: ethernet({ type: ETH_ARP, src: "02:00:00:00:00:02", dst: "02:00:00:00:00:01" }, arp(2, B, A)),
  },
  { name: "udp6 A6:5353 > B6:5353", frame: v6({ src: A6, dst: B6, next: 17 }, udp({ sport: 5353, dport: 5353 })) },
  { name: "udp6 A6 > B6:9999", frame: v6({ src: A6, dst: B6, next: 17 }, udp({ sport: 40000, dport: 9999 })) },
  {
    name: "tcp6 SYN A6 > B6:443",
    frame: v6({ src: A6, dst: B6, next: 6 }, tcp({ sport: 40011, dport: 443, flags: TCP_SYN })),
  },
  {
    name: "tcp6 RST B6:443 > A6",
    frame: v6({ src: B6, dst: A6, next: 6 }, tcp({ sport: 443, dport: 40011, flags: TCP_RST })),
  },
  {
    name: "tcp6 C6 > A6:22",
    frame: v6({ src: C6, dst: A6, next: 6 }, tcp({ sport: 50001, dport: 22, flags: TCP_ACK })),
  },
  { name: "icmp6 echo request A6 > B6", frame: v6({ src: A6, dst: B6, next: 58 }, icmp6(128)) },
  {
    name: "icmp6 neighbour solicitation",
    frame: v6({ src: A6, dst: "ff02::1:ff00:2", next: 58, hopLimit: 255 }, icmp6(135)),
  },
  { name: "icmp6 destination unreachable", frame: v6({ src: B6, dst: A6, next: 58 }, icmp6(1, 4)) },
  {
    name: "udp6 behind a hop-by-hop header",
    frame: v6(
      { src: A6, dst: B6, next: 17, ext: [{ type: 0, body: [1, 4, 0, 0, 0, 0] }] },
      udp({ sport: 40012, dport: 9999 }),
    ),
  },
  {
    name: "tcp6 behind a destination options header",
    frame: v6(
      { src: A6, dst: B6, next: 6, ext: [{ type: 60, body: [1, 4, 0, 0, 0, 0] }] },
      tcp({ sport: 40013, dport: 443, flags: TCP_SYN }),
    ),
  },
  { name: "ip broadcast udp", frame: v4({ src: A, dst: "255.255.255.255", proto: 17 }, udp({ sport: 68, dport: 67 })) },
  {
    name: "ip multicast udp",
    frame: ethernet(
      { type: ETH_IP, dst: "01:00:5e:00:00:fb" },
      ip4({ src: A, dst: "224.0.0.251", proto: 17 }, udp({ sport: 5353, dport: 5353 })),
    ),
  },
  {
    name: "tcp truncated after the IP header",
    frame: v4({ src: A, dst: B, proto: 6 }, tcp({ sport: 40014, dport: 443, flags: TCP_SYN })),
    cut: 20,
  },
  {
    name: "udp truncated mid-port",
    frame: v4({ src: A, dst: B, proto: 17 }, udp({ sport: 40015, dport: 9999 })),
    cut: 5,
  },
  {
    name: "ipv6 truncated in the header",
    frame: v6({ src: A6, dst: B6, next: 6 }, tcp({ sport: 40016, dport: 443, flags: TCP_SYN })),
    cut: 40,
  },
  {
    name: "geneve carrying tcp 10.9.9.1 > 10.9.9.2:80",
    frame: v4(
      { src: A, dst: C, proto: 17 },
      geneve(v4({ src: "10.9.9.1", dst: "10.9.9.2", proto: 6 }, tcp({ sport: 40017, dport: 80, flags: TCP_SYN }))),
    ),
  },
  {
    name: "geneve carrying udp 10.9.9.3 > 10.9.9.4:53",
    frame: v4(
      { src: A, dst: C, proto: 17 },
      geneve(v4({ src: "10.9.9.3", dst: "10.9.9.4", proto: 17 }, udp({ sport: 40018, dport: 53 }))),
    ),
  },
  {
    name: "ethertype 0x88cc (lldp)",
    frame: ethernet({ type: 0x88cc, dst: "01:80:c2:00:00:0e", src: "02:00:00:00:00:09" }, new Uint8Array(46)),
  },
];

const EXPRESSIONS = [
  "ip",
  "ip6",
  "arp",
  "not arp",
  "tcp",
  "udp",
  "icmp",
  "icmp6",
  "sctp",
  "ip proto 47",
  "host 10.199.0.1",
  "src host 10.199.0.1",
  "dst host 10.199.0.2",
  "host 10.199.0.1 and host 10.199.0.2",
  "net 10.199.0.0/16",
  "src net 10.0.0.0/8",
  "dst net 192.168.0.0/16 or dst net 10.1.0.0/16",
  "not net 10.199.0.0/16",
  "port 9999",
  "dst port 9999",
  "src port 9999",
  "udp dst port 9999",
  "tcp dst port 443",
  "tcp port 443 or tcp port 80",
  "portrange 1000-1100",
  "udp dst portrange 5000-9000",
  "tcp src portrange 1-1023",
  "udp and dst port 5353",
  "tcp dst port 9999 and src net 10.199.0.0/16",
  "host 10.199.0.1 and (tcp port 443 or icmp)",
  "tcp[tcpflags] & tcp-rst != 0",
  "tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn",
  "tcp[tcpflags] & tcp-fin != 0",
  "tcp[tcpflags] & tcp-urg != 0",
  "tcp[13] & 4 != 0",
  "tcp[14:2] == 0",
  "icmp[icmptype] == icmp-echo",
  "icmp[icmptype] == icmp-unreach and icmp[icmpcode] == 3",
  "icmp[0] != 8 and icmp[0] != 0",
  "icmp6 and ip6[40] == 128",
  "icmp6 and ip6[40] == 135",
  "ip6 host fd00:199::1",
  "ip6 src host fd00:199::2",
  "ip6 net fd00:199::/32",
  "ip6 and tcp dst port 443",
  "ip6 and udp port 9999",
  "ip6 proto 58",
  "vlan",
  "vlan 100",
  "vlan and udp",
  "vlan 10 and vlan 20",
  "not vlan",
  "len > 100",
  "len <= 64",
  "greater 200",
  "less 80",
  "ip[8] < 5",
  "ip[8] == 1",
  "ip[1] & 0xfc == 0x10",
  "ip[6] & 0x20 != 0",
  "ip[6:2] & 0x1fff != 0",
  "ip[2:2] > 100",
  "ip[0] & 0xf > 5",
  "ip broadcast",
  "ip multicast",
  "ether broadcast",
  "ether multicast",
  "ether src 02:00:00:00:00:01",
  "ether dst ff:ff:ff:ff:ff:ff",
  "ether proto 0x88cc",
  "arp host 10.199.0.2",
  "udp[8:4] == 0x07070707",
  "udp[100:2] == 0x0707",
  "ip[150] == 7",
  "tcp[20:4] == 0x47455420",
  "ip[4:2] * 2 + 3 > 4",
  "ip[9] - 6 == 0 or ip[9] / 17 == 1",
  "ip[9] % 7 == 6",
  "(ip[9] ^ 0x11) == 0",
  "ip[1] << 2 == 0x40",
  "ip[1] >> 2 == 4",
  "not (udp or tcp)",
  "tcp and not port 443 and not port 80",
  "ip and not ip6",
  "geneve",
  "geneve and tcp port 80",
  "geneve and host 10.9.9.3",
];

const tail = (frame: Uint8Array, cut = 0) => frame.subarray(0, frame.length - cut);

/** The test program's input: the prefix (its first byte: which region), then the packet. */
function input(region: 0 | 1, packet: Uint8Array): Uint8Array {
  const b = new Uint8Array(PREFIX + packet.length);
  b[0] = region;
  b.set(packet, PREFIX);
  return b;
}

function compareWithLibpcap(): void {
  assert(
    SAMPLES.length >= 40 && EXPRESSIONS.length >= 60,
    `${SAMPLES.length} packets, ${EXPRESSIONS.length} expressions`,
  );
  const object = Deno.readFileSync(TEST_OBJECT);
  const mismatches: string[] = [];
  let compared = 0;
  for (const text of EXPRESSIONS) {
    const expr = compileFilterExpression(text, REGION_INSNS);
    const obj = BpfObject.open(withExpression(object, expr, "pcap_test"), { name: "pcap_test" });
    try {
      obj.load();
      const fd = obj.program("pcap_test").fd;
      const l2 = compileExpression(text, DLT_EN10MB);
      const l3 = compileExpression(text, DLT_RAW);
      for (const s of SAMPLES) {
        const frame = tail(s.frame, s.cut);
        const cases: Array<[0 | 1, Uint8Array, boolean]> = [];
        assert("insns" in l2, `${text}: ${"error" in l2 ? l2.error : ""}`);
        cases.push([0, frame, offlineFilter(l2.insns, frame) !== 0]);
        // from the IP header: what an IP packet looks like at a point without a MAC header
        const type = (frame[12] << 8) | frame[13];
        if (type === ETH_IP || type === ETH_IPV6) {
          const packet = frame.subarray(14);
          cases.push([1, packet, "insns" in l3 ? offlineFilter(l3.insns, packet) !== 0 : false]);
        }
        for (const [region, packet, want] of cases) {
          const ret = testRunPacket(fd, input(region, packet));
          assert(ret === XDP_PASS || ret === XDP_DROP, `'${text}' on ${s.name}: the program returned ${ret}`);
          compared++;
          if ((ret === XDP_PASS) !== want) {
            mismatches.push(
              `'${text}' on ${s.name} (${region ? "raw IP" : "Ethernet"}): libpcap ${
                want ? "matches" : "does not match"
              }, nettrace ${ret === XDP_PASS ? "matches" : "does not"}`,
            );
          }
        }
      }
    } finally {
      obj.close();
    }
  }
  console.log(`  ${EXPRESSIONS.length} expressions x ${SAMPLES.length} packets: ${compared} verdicts compared`);
  assertEquals(mismatches, []);
}

kernelTest(
  "filter expressions: nettrace's eBPF agrees with libpcap on every expression and packet",
  () => Promise.resolve(compareWithLibpcap()),
);

Deno.test("filter expressions: every expression of the corpus matches some packet and misses another", () => {
  // a corpus where an expression's verdict never changes would not test its translation
  const constant: string[] = [];
  for (const text of EXPRESSIONS) {
    const l2 = compileExpression(text, DLT_EN10MB);
    assert("insns" in l2);
    const verdicts = new Set(SAMPLES.map((s) => offlineFilter(l2.insns, tail(s.frame, s.cut)) !== 0));
    if (verdicts.size !== 2) constant.push(`${text}: always ${[...verdicts][0]}`);
  }
  assertEquals(constant, []);
});
