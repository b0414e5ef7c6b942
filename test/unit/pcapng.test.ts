/**
 * -w without a kernel: records as the kernel sends them (an event and its
 * bytes), decoded, written by the pcapng sink, and read back by an
 * independent reader: the same packets, lengths, times and comments, one
 * interface block per device, netns and link type, a new section per run.
 */
import { assert, assertEquals, assertThrows } from "../helpers/assert.ts";
import { readPcapng } from "../helpers/pcapng_reader.ts";
import { CAPTURE, CAPTURED_EVENT, EVENT, PACKET } from "../../src/event/layout.ts";
import { decodeEvent } from "../../src/event/decode.ts";
import { decodeCapture, LINK } from "../../src/event/capture.ts";
import { PcapngSink } from "../../src/output/pcapng_sink.ts";
import { formatDropComment } from "../../src/output/drop_line.ts";
import { reasonsFromEnums } from "../../src/event/drop_reasons.ts";

const enc = new TextEncoder();

/** A UDP datagram from 10.231.0.1 to 10.231.0.2:9, with an Ethernet header or without. */
function datagram(ethernet: boolean): Uint8Array {
  const ip = [0x45, 0, 0, 33, 0, 1, 0x40, 0, 64, 17, 0, 0, 10, 231, 0, 1, 10, 231, 0, 2];
  const udp = [0x30, 0x39, 0, 9, 0, 13, 0, 0, ...enc.encode("hello")];
  const eth = [2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00];
  return new Uint8Array([...(ethernet ? eth : []), ...ip, ...udp]);
}

/** One record as the ring holds it: struct nt_event, then struct nt_capture with caplen bytes. */
function record(
  o: {
    ts: number;
    ifindex: number;
    ifname: string;
    netns: number;
    comm: Uint8Array;
    bytes?: Uint8Array;
    link?: number;
    origLen?: number;
  },
): DataView {
  const caplen = o.bytes?.length ?? 0;
  const buf = new Uint8Array(CAPTURED_EVENT.cap + CAPTURE.data + caplen);
  const v = new DataView(buf.buffer);
  v.setBigUint64(EVENT.ts, BigInt(o.ts), true);
  v.setBigUint64(EVENT.skb, 0xffff888104f2e800n, true);
  v.setBigUint64(EVENT.location, 0xffffffff81a00091n, true);
  v.setUint32(EVENT.reason, 3, true);
  v.setUint32(EVENT.pid, 4242, true);
  v.setUint32(EVENT.netns, o.netns, true);
  v.setUint32(EVENT.ifindex, o.ifindex, true);
  v.setUint16(EVENT.kind, 1, true);
  buf.set(o.comm.subarray(0, 15), EVENT.comm);
  buf.set(enc.encode(o.ifname), EVENT.ifname);
  v.setUint16(EVENT.pkt + PACKET.l3_proto, 0x0800, true);
  const at = CAPTURED_EVENT.cap;
  v.setUint32(at + CAPTURE.origlen, o.origLen ?? caplen, true);
  v.setUint16(at + CAPTURE.caplen, caplen, true);
  buf[at + CAPTURE.link] = o.bytes ? (o.link ?? LINK.ethernet) : 0;
  if (o.bytes) buf.set(o.bytes, at + CAPTURE.data);
  return v;
}

const reasons = reasonsFromEnums(new Map([[3, "SKB_DROP_REASON_NO_SOCKET"]]));
const commentCtx = { reasons, symbolize: () => "__udp4_lib_rcv+0x4bc", point: "tracepoint skb:kfree_skb" };
const WALL = 1_764_806_400_000_000_000n;

/** Writes the records through a sink (one run) into chunks. */
function run(records: DataView[], chunks: Uint8Array[], snaplen = 128): number {
  const sink = new PcapngSink({ writeSync: (p) => (chunks.push(p.slice()), p.length) }, {
    application: "nettrace test",
    os: "Linux test",
  }, snaplen);
  for (const r of records) {
    const ev = decodeEvent(r, 0, r.byteLength);
    const bytes = decodeCapture(r, 0, r.byteLength);
    if (bytes) sink.packet(ev, WALL + BigInt(ev.tsNs), bytes, formatDropComment(ev, commentCtx));
  }
  sink.flush();
  return sink.packets;
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) (out.set(c, at), at += c.length);
  return out;
}

Deno.test("pcapng: the packets, their lengths, times and comments read back as written", () => {
  const eth = datagram(true), raw = datagram(false);
  const records = [
    record({ ts: 1000, ifindex: 5, ifname: "veth0", netns: 4026532001, comm: enc.encode("nc"), bytes: eth }),
    record({
      ts: 2000,
      ifindex: 1,
      ifname: "lo",
      netns: 4026532001,
      comm: enc.encode("ping"),
      bytes: raw,
      link: LINK.raw,
    }),
    record({
      ts: 3000,
      ifindex: 5,
      ifname: "veth0",
      netns: 4026532001,
      comm: enc.encode("nc"),
      bytes: eth.subarray(0, 40),
      origLen: eth.length,
    }),
    // the same index and name in another netns is another interface
    record({ ts: 4000, ifindex: 5, ifname: "veth0", netns: 4026532002, comm: enc.encode("nc"), bytes: eth }),
    // no bytes (no header to start from): the event is shown, no packet written
    record({ ts: 5000, ifindex: 0, ifname: "", netns: 4026532001, comm: enc.encode("nc") }),
  ];
  const chunks: Uint8Array[] = [];
  assertEquals(run(records, chunks), 4);
  const { sections, packets } = readPcapng(concat(chunks));
  assertEquals(sections.length, 1);
  assertEquals([sections[0].application, sections[0].os], ["nettrace test", "Linux test"]);
  assertEquals(sections[0].interfaces, [
    { linkType: 1, snaplen: 128, name: "veth0", description: "ifindex 5 in netns 4026532001", tsresol: 9 },
    { linkType: 101, snaplen: 128, name: "lo", description: "ifindex 1 in netns 4026532001", tsresol: 9 },
    { linkType: 1, snaplen: 128, name: "veth0", description: "ifindex 5 in netns 4026532002", tsresol: 9 },
  ]);
  assertEquals(packets.map((p) => p.interfaceId), [0, 1, 0, 2]);
  assertEquals(packets.map((p) => p.time), [WALL + 1000n, WALL + 2000n, WALL + 3000n, WALL + 4000n]);
  assertEquals(packets[0].data, eth);
  assertEquals(packets[1].data, raw);
  assertEquals([packets[2].data.length, packets[2].origLen], [40, eth.length]);
  assertEquals(
    packets[0].comments,
    [
      "dropped: reason NO_SOCKET at __udp4_lib_rcv+0x4bc (tracepoint skb:kfree_skb), skb 0xffff888104f2e800, " +
      "dev veth0, netns 4026532001, comm nc, pid 4242",
    ],
  );
});

Deno.test("pcapng: a second run appends a section of its own; a name with control characters is escaped", () => {
  const chunks: Uint8Array[] = [];
  run([record({ ts: 1, ifindex: 5, ifname: "veth0", netns: 1, comm: enc.encode("a"), bytes: datagram(true) })], chunks);
  const evil = new Uint8Array([0x1b, ...enc.encode("[31mev"), 0x0d, ...enc.encode("il"), 0xff]);
  run([record({ ts: 2, ifindex: 6, ifname: "eth\x1b0", netns: 1, comm: evil, bytes: datagram(true) })], chunks);
  const { sections, packets } = readPcapng(concat(chunks));
  assertEquals(sections.length, 2);
  assertEquals(packets.map((p) => [p.section, p.interfaceId]), [[0, 0], [1, 0]]);
  const comment = packets[1].comments[0];
  // deno-lint-ignore no-control-regex
  assert(!/[\x00-\x1f\x7f]/.test(comment), comment);
  assert(comment.includes("comm \\e[31mev\\ril\\xff,"), comment);
  assertEquals(sections[1].interfaces[0].name, "eth\\e0");
});

Deno.test("pcapng: a record's bytes decode only when it has them, and never past its end", () => {
  const r = record({
    ts: 1,
    ifindex: 1,
    ifname: "lo",
    netns: 1,
    comm: enc.encode("a"),
    bytes: datagram(false),
    link: LINK.raw,
  });
  assertEquals(decodeCapture(r, 0, r.byteLength)?.data, datagram(false));
  assertEquals(decodeCapture(r, 0, EVENT.size), undefined);
  assertThrows(() => decodeCapture(r, 0, r.byteLength - 1), Error, "capture of 33 bytes");
});
