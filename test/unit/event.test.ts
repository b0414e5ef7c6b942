import { assertEquals, assertThrows } from "../helpers/assert.ts";
import { decodeEvent } from "../../src/event/decode.ts";
import { EVENT, PACKET } from "../../src/event/layout.ts";
import { encodeFilter } from "../../src/bpf/filter.ts";
import { FILTER } from "../../src/event/layout.ts";
import { formatDropLine } from "../../src/output/drop_line.ts";
import { formatCallStack } from "../../src/output/call_stack.ts";
import { TimestampFormatter } from "../../src/output/timestamp.ts";
import { reasonsFromEnums } from "../../src/event/drop_reasons.ts";

/** A recorded struct nt_event: a TCP SYN dropped with NO_SOCKET. */
function recordedEvent(at = 16): { view: DataView; off: number } {
  const buf = new ArrayBuffer(at + EVENT.size + 8);
  const v = new DataView(buf), b = new Uint8Array(buf);
  v.setBigUint64(at + EVENT.ts, 3867337581123n, true);
  v.setBigUint64(at + EVENT.skb, 0xffff888109b424e0n, true);
  v.setBigUint64(at + EVENT.location, 0xffffffff81a00091n, true);
  v.setUint32(at + EVENT.reason, 3, true);
  v.setUint32(at + EVENT.pid, 1234, true);
  v.setUint32(at + EVENT.netns, 4026531840, true);
  v.setUint32(at + EVENT.ifindex, 1, true);
  v.setInt32(at + EVENT.stack_id, -1, true);
  v.setUint16(at + EVENT.cpu, 1, true);
  v.setUint16(at + EVENT.kind, 1, true);
  b.set(new TextEncoder().encode("bash\0"), at + EVENT.comm);
  b.set(new TextEncoder().encode("lo\0"), at + EVENT.ifname);
  const p = at + EVENT.pkt;
  v.setUint16(p + PACKET.l3_proto, 0x0800, true);
  v.setUint8(p + PACKET.l3_len, 40);
  v.setUint8(p + PACKET.l4_len, 20);
  v.setUint8(p + PACKET.l4_proto, 6);
  b.set([0x45, 0, 0, 60, 0, 0, 0x40, 0, 64, 6, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1], p + PACKET.l3);
  b.set([0xc5, 0x52, 0, 9, 0x08, 0x62, 0xbb, 0x10, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0], p + PACKET.l4);
  return { view: v, off: at };
}

Deno.test("event: decodes a recorded record at any offset, copying the headers", () => {
  const { view, off } = recordedEvent(24);
  const ev = decodeEvent(view, off, EVENT.size);
  assertEquals([ev.tsNs, ev.skb, ev.location, ev.reason, ev.pid, ev.netns, ev.cpu, ev.stackId, ev.comm, ev.ifname], [
    3867337581123,
    0xffff888109b424e0n,
    0xffffffff81a00091n,
    3,
    1234,
    4026531840,
    1,
    -1,
    "bash",
    "lo",
  ]);
  assertEquals(ev.packet.l3.length, 40);
  assertEquals(ev.packet.l4[3], 9);
  new Uint8Array(view.buffer).fill(0); // the record memory is reused: the event must not change
  assertEquals(ev.packet.l4[3], 9);
});

Deno.test("event: a short record is refused", () => {
  const { view, off } = recordedEvent();
  assertThrows(() => decodeEvent(view, off, 40), Error, "expected");
});

Deno.test("drop line: the nettrace shape, with reason and location; without reasons no column", () => {
  const { view, off } = recordedEvent();
  const ev = decodeEvent(view, off, EVENT.size);
  const reasons = reasonsFromEnums(new Map([[3, "SKB_DROP_REASON_NO_SOCKET"]]));
  const ctx = { time: new TimestampFormatter(false, 0), reasons, symbolize: () => "tcp_v4_rcv+0x91", detail: false };
  assertEquals(
    formatDropLine(ev, ctx),
    "[3867.337581] TCP: 127.0.0.1:50514 -> 127.0.0.1:9 seq:140688144, ack:0, flags:S, reason: NO_SOCKET, tcp_v4_rcv+0x91",
  );
  assertEquals(
    formatDropLine(ev, { ...ctx, reasons: undefined }),
    "[3867.337581] TCP: 127.0.0.1:50514 -> 127.0.0.1:9 seq:140688144, ack:0, flags:S, tcp_v4_rcv+0x91",
  );
  assertEquals(
    formatDropLine(ev, { ...ctx, detail: true }),
    "[3867.337581] [ffff888109b424e0][cpu:1  ][lo][ns:4026531840][pid:1234   ][bash] TCP: 127.0.0.1:50514 -> 127.0.0.1:9 seq:140688144, ack:0, flags:S, reason: NO_SOCKET, tcp_v4_rcv+0x91",
  );
  assertEquals(
    formatCallStack(["kfree_skb_reason+0x0", "tcp_v4_rcv+0x91"]),
    "Call Stack:\n    -> kfree_skb_reason+0x0\n    -> tcp_v4_rcv+0x91",
  );
});

Deno.test("timestamp: seconds since boot, or the local date with a known clock offset", () => {
  assertEquals(new TimestampFormatter(false, 0).format(5_000_001_999), "5.000001");
  assertEquals(new TimestampFormatter(false, 0).format(0), "0.000000");
  const tz = Deno.env.get("TZ");
  Deno.env.set("TZ", "UTC");
  try {
    const wall = Date.UTC(2026, 10, 23, 7, 40, 0) * 1e6; // ns at monotonic 0
    assertEquals(new TimestampFormatter(true, wall).format(1_234_567_000), "2026-11-23 07:40:01.234567");
  } finally {
    if (tz === undefined) Deno.env.delete("TZ");
    else Deno.env.set("TZ", tz);
  }
});

Deno.test("filter: struct nt_filter bytes", () => {
  const b = encodeFilter({
    saddr: { family: 4, bytes: new Uint8Array([10, 0, 0, 1]) },
    addr: { family: 6, bytes: new Uint8Array(16).fill(0xfe) },
    dport: 443,
    l4Proto: 6,
    l3Proto: 0x86dd,
    netns: 7,
    pid: 9,
  });
  const v = new DataView(b.buffer);
  assertEquals(b.length, FILTER.size);
  assertEquals([b[FILTER.saddr], ...b.slice(FILTER.saddr + 4, FILTER.saddr + 8)], [4, 10, 0, 0, 1]);
  assertEquals(b[FILTER.daddr], 0);
  assertEquals([b[FILTER.addr], b[FILTER.addr + 4], b[FILTER.addr + 19]], [6, 0xfe, 0xfe]);
  assertEquals([v.getUint16(FILTER.sport, true), v.getUint16(FILTER.dport, true), v.getUint16(FILTER.port, true)], [
    0,
    443,
    0,
  ]);
  assertEquals([
    v.getUint16(FILTER.l3_proto, true),
    b[FILTER.l4_proto],
    v.getUint32(FILTER.netns, true),
    v.getUint32(FILTER.pid, true),
  ], [0x86dd, 6, 7, 9]);
  assertEquals(encodeFilter({}), new Uint8Array(FILTER.size));
});
