import { assertEquals, assertMatch } from "../helpers/assert.ts";
import { blockLatencies, formatLatency } from "../../src/life/block_latency.ts";
import type { KernelEvent } from "../../src/event/decode.ts";
import type { LifeBlock } from "../../src/life/context_tracker.ts";
import { formatBlock } from "../../src/output/life_line.ts";
import { TimestampFormatter } from "../../src/output/timestamp.ts";

const ev = (tsNs: number, point: number): KernelEvent => ({
  tsNs,
  skb: 0xa0n,
  location: 0n,
  reason: 0,
  pid: 1,
  netns: 1,
  ifindex: 1,
  stackId: -1,
  cpu: 0,
  kind: 2,
  comm: "ping",
  ifname: "veth0",
  packet: { l3Proto: 0, l4Proto: 0, l3: new Uint8Array(0), l4: new Uint8Array(0), l3Len: 0, l4Len: 0 } as never,
  ctxId: 0xa0n,
  point,
  skState: 0,
  opensContext: point === 0,
  netfilterDrop: false,
});
const BLOCK: LifeBlock = { skbs: [0xa0n], complete: true, events: [ev(1000, 0), ev(53_000, 1), ev(101_500_000, 2)] };
const isFree = (e: KernelEvent) => e.point === 2;

Deno.test("latency: each point's time since the first, the free only with --latency-free", () => {
  assertEquals(blockLatencies(BLOCK, { includeFree: false, isFree }), [0, 52_000, undefined]);
  assertEquals(blockLatencies(BLOCK, { includeFree: true, isFree }), [0, 52_000, 101_499_000]);
  assertEquals(formatLatency(52_000), "0.052ms");
});

Deno.test("latency: --latency-show puts it on each line of a block", () => {
  const text = formatBlock(BLOCK, {
    time: new TimestampFormatter(false, 0),
    pointName: (i) => ["net_dev_queue", "net_dev_xmit", "consume_skb"][i],
    detail: false,
    latency: { includeFree: true, isFree },
  });
  const lines = text.split("\n");
  assertMatch(lines[1], /\[net_dev_queue\s*\] .*, latency: 0\.000ms$/);
  assertMatch(lines[2], /, latency: 0\.052ms$/);
  assertMatch(lines[3], /\[consume_skb\s*\] .*, latency: 101\.499ms$/);
});
