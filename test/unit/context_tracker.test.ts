/** Grouping lifecycle events into packets, from recorded event sequences. */
import { assert, assertEquals } from "../helpers/assert.ts";
import { ContextTracker, type LifeBlock } from "../../src/life/context_tracker.ts";
import type { KernelEvent } from "../../src/event/decode.ts";
import { recordedEvent } from "../helpers/recorded_event.ts";
import { formatBlock } from "../../src/output/life_line.ts";
import { TimestampFormatter } from "../../src/output/timestamp.ts";

const POINTS = ["net_dev_queue", "skb_clone", "nf_hook_slow", "ip_rcv", "consume_skb", "kfree_skb"];
const END = new Set([4, 5]);

/** An event: ts in µs, skb, context, point index, destination byte (to tell NAT apart). */
function ev(tsUs: number, skb: number, ctx: number, point: number, dst = 2): KernelEvent {
  const l3 = new Uint8Array(20);
  l3.set([0x45, 0, 0, 84, 0, 0, 0, 0, 64, 1, 0, 0, 10, 0, 0, 1, 10, 0, 0, dst]);
  return recordedEvent({
    tsNs: tsUs * 1000,
    skb: BigInt(skb),
    packet: { l3Proto: 0x0800, l4Proto: 1, l3, l4: new Uint8Array([8, 0, 0, 0, 0, 1, 0, 1]) },
    ctxId: BigInt(ctx),
    point,
  });
}

function feed(t: ContextTracker, events: KernelEvent[]): LifeBlock[] {
  const out: LifeBlock[] = [];
  for (const e of events) {
    const b = t.add(e, END.has(e.point));
    if (b) out.push(b);
  }
  return out;
}

const names = (b: LifeBlock) => b.events.map((e) => POINTS[e.point]);

Deno.test("contexts: one packet ends when its only skb is freed", () => {
  const t = new ContextTracker(1e9);
  const done = feed(t, [ev(1, 0xa0, 0xa0, 0), ev(2, 0xa0, 0xa0, 3), ev(3, 0xa0, 0xa0, 4)]);
  assertEquals(done.length, 1);
  assertEquals(names(done[0]), ["net_dev_queue", "ip_rcv", "consume_skb"]);
  assertEquals(done[0].skbs, [0xa0n]);
  assert(done[0].complete);
  assertEquals(t.size, 0);
});

Deno.test("contexts: a clone joins its parent's context; the block ends when both are freed", () => {
  const t = new ContextTracker(1e9);
  const done = feed(t, [
    ev(1, 0xa0, 0xa0, 0),
    ev(2, 0xa0, 0xa0, 1), // skb_clone of a0 -> b0
    ev(3, 0xb0, 0xa0, 2), // the clone, same context
    ev(4, 0xa0, 0xa0, 4), // parent freed: the clone lives on
    ev(5, 0xb0, 0xa0, 3),
    ev(6, 0xb0, 0xa0, 4),
  ]);
  assertEquals(done.length, 1);
  assertEquals(done[0].skbs, [0xa0n, 0xb0n]);
  assertEquals(done[0].events.length, 6);
});

Deno.test("contexts: interleaved packets and out-of-order arrival come out grouped and in time order", () => {
  const t = new ContextTracker(1e9);
  const done = feed(t, [
    ev(10, 0xa0, 0xa0, 0),
    ev(11, 0xc0, 0xc0, 0),
    ev(13, 0xa0, 0xa0, 3),
    ev(12, 0xc0, 0xc0, 3),
    ev(15, 0xc0, 0xc0, 5),
    ev(14, 0xa0, 0xa0, 2), // arrived late from another CPU
    ev(16, 0xa0, 0xa0, 4),
  ]);
  assertEquals(done.map((b) => b.skbs[0]), [0xc0n, 0xa0n]);
  assertEquals(done[1].events.map((e) => e.tsNs / 1000), [10, 13, 14, 16]);
  assertEquals(names(done[0]), ["net_dev_queue", "ip_rcv", "kfree_skb"]);
});

Deno.test("contexts: after NAT the packet text changes but the block is the same", () => {
  const t = new ContextTracker(1e9);
  const [b] = feed(t, [
    ev(1, 0xa0, 0xa0, 0, 2),
    ev(2, 0xa0, 0xa0, 2, 2),
    ev(3, 0xa0, 0xa0, 3, 9),
    ev(4, 0xa0, 0xa0, 4, 9),
  ]);
  const text = formatBlock(b, { time: new TimestampFormatter(false, 0), pointName: (i) => POINTS[i], detail: false });
  const lines = text.split("\n");
  assertEquals(lines[0], "***************** a0 ***************");
  assert(lines[1].endsWith("[net_dev_queue       ] ICMP: 10.0.0.1 -> 10.0.0.2 ping request, id:1, seq:1"), lines[1]);
  assert(lines[3].includes("ICMP: 10.0.0.1 -> 10.0.0.9"), lines[3]);
  assertEquals(lines.length, 6); // header, 4 events, blank
});

Deno.test("contexts: --tiny-show prints the packet on a block's first line only, as the C nettrace", () => {
  const t = new ContextTracker(1e9);
  const [b] = feed(t, [ev(1, 0xa0, 0xa0, 0, 2), ev(2, 0xa0, 0xa0, 2, 2), ev(3, 0xa0, 0xa0, 4, 2)]);
  const ctx = { time: new TimestampFormatter(false, 0), pointName: (i: number) => POINTS[i], detail: false };
  const tiny = formatBlock(b, { ...ctx, tiny: true }).split("\n");
  assert(tiny[1].endsWith("[net_dev_queue       ] ICMP: 10.0.0.1 -> 10.0.0.2 ping request, id:1, seq:1"), tiny[1]);
  assertEquals(tiny[2], "[0.000002] [nf_hook_slow        ]");
  assertEquals(tiny[3], "[0.000003] [consume_skb         ]");
  const full = formatBlock(b, ctx).split("\n");
  assert(full[2].endsWith("[nf_hook_slow        ] ICMP: 10.0.0.1 -> 10.0.0.2 ping request, id:1, seq:1"), full[2]);
});

Deno.test("contexts: a context whose end is never seen is printed after the timeout, marked", () => {
  const t = new ContextTracker(1000_000);
  feed(t, [ev(1, 0xa0, 0xa0, 0), ev(2, 0xa0, 0xa0, 3), ev(1500, 0xc0, 0xc0, 0)]);
  assertEquals(t.expire(900 * 1000).length, 0); // 1 ms timeout: a0 (last event at 2 µs) not yet
  const late = t.expire(1100 * 1000);
  assertEquals(late.length, 1);
  assertEquals(late[0].complete, false);
  const text = formatBlock(late[0], {
    time: new TimestampFormatter(false, 0),
    pointName: (i) => POINTS[i],
    detail: false,
  });
  assert(text.includes("(end of life not seen"), text);
  assertEquals(t.flush().map((b) => b.skbs[0]), [0xc0n]);
});

Deno.test("contexts: an skb address reused after its end starts a new packet", () => {
  const t = new ContextTracker(1e9);
  const done = feed(t, [ev(1, 0xa0, 0xa0, 0), ev(2, 0xa0, 0xa0, 4), ev(3, 0xa0, 0xa0, 0), ev(4, 0xa0, 0xa0, 5)]);
  assertEquals(done.length, 2);
  assertEquals(done.map(names), [["net_dev_queue", "consume_skb"], ["net_dev_queue", "kfree_skb"]]);
});

Deno.test("contexts --ret: a return value joins its entry line, even after the end of life (grace)", () => {
  const t = new ContextTracker(1e9, 100_000); // 100 µs grace
  const recorded = [ev(1, 0xa0, 0xa0, 3), ev(2, 0xa0, 0xa0, 2), ev(3, 0xa0, 0xa0, 4)];
  assertEquals(feed(t, recorded).length, 0);
  assert(t.addReturn(2, 0xa0n, 0xa0n, 0n)); // nf_hook_slow returned 1 µs... after the free
  assert(t.addReturn(3, 0xa0n, 0xa0n, 0xffffffffffffffean)); // ip_rcv returned -22
  assert(!t.addReturn(3, 0xa0n, 0xa0n, 1n), "one return per entry");
  assert(!t.addReturn(3, 0xa0n, 0xbbn, 1n), "unknown context");
  assertEquals(t.expire(50 * 1000).length, 0); // still in grace
  const [b] = t.expire(200 * 1000);
  const text = formatBlock(b, { time: new TimestampFormatter(false, 0), pointName: (i) => POINTS[i], detail: false });
  const lines = text.split("\n");
  assert(lines[1].startsWith("[0.000001] [ip_rcv") && lines[1].endsWith(", ret: -22"), lines[1]);
  assert(lines[2].endsWith(", ret: 0"), lines[2]);
  assert(!lines[3].includes("ret:"), lines[3]);
  assertEquals(recorded.map((e) => e.ret), [undefined, undefined, undefined], "the decoded events are not changed");
});

Deno.test("contexts: a new packet at the address of one whose end was not seen starts a block of its own", () => {
  // a TCP RST freed by __kfree_skb (no tracepoint) leaves its context; the kernel sees another packet at the
  // address, tells it apart (nt_identify), filters it anew and opens a context under the same id: its first
  // event says so
  const t = new ContextTracker(1e9);
  const at = (tsUs: number, point: number, opensContext = false) => ({ ...ev(tsUs, 0xa0, 0xa0, point), opensContext });
  const out = feed(t, [at(1, 0, true), at(2, 3), at(50, 0, true), at(51, 3), at(60, 0, true), at(61, 4)]);
  assertEquals(out.map((b) => [names(b), b.complete]), [
    [["net_dev_queue", "ip_rcv"], false],
    [["net_dev_queue", "ip_rcv"], false],
    [["net_dev_queue", "consume_skb"], true],
  ]);
  assertEquals(t.size, 0);
  // events that open nothing join the open context, whatever their headers say (NAT, encapsulation)
  assertEquals(
    feed(t, [at(70, 0, true), { ...at(71, 3), packet: { ...at(71, 3).packet, l3Proto: 0x86dd } }, at(72, 4)]).length,
    1,
  );
});
