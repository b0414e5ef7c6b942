import { assertEquals } from "../helpers/assert.ts";
import { reasonName, reasonsFromEnums, reasonsFromTracepointFormat } from "../../src/event/drop_reasons.ts";

Deno.test("drop reasons: from BTF enums, prefix stripped, consumed noted, subsystems named", () => {
  const r = reasonsFromEnums(
    new Map([[0, "SKB_NOT_DROPPED_YET"], [1, "SKB_CONSUMED"], [2, "SKB_DROP_REASON_NOT_SPECIFIED"], [
      3,
      "SKB_DROP_REASON_NO_SOCKET",
    ], [128, "SKB_DROP_REASON_MAX"]]),
    new Map([[0, "SKB_DROP_REASON_SUBSYS_CORE"], [1, "SKB_DROP_REASON_SUBSYS_MAC80211_UNUSABLE"], [
      3,
      "SKB_DROP_REASON_SUBSYS_NUM",
    ]]),
  );
  assertEquals(r.source, "btf");
  assertEquals(r.consumed, 1);
  assertEquals(reasonName(r, 3), "NO_SOCKET");
  assertEquals(reasonName(r, 1), "CONSUMED");
  assertEquals(r.names.has(128), false);
  assertEquals(reasonName(r, (1 << 16) | 5), "MAC80211_UNUSABLE:0x5");
  assertEquals(reasonName(r, (7 << 16) | 1), "SUBSYS_7:0x1");
  assertEquals(reasonName(r, 999), "UNKNOWN(999)");
});

const FORMAT_WITH = `name: kfree_skb
format:
	field:void * skbaddr;	offset:8;	size:8;	signed:0;
	field:enum skb_drop_reason reason;	offset:36;	size:4;	signed:0;

print fmt: "skbaddr=%p reason: %s", REC->skbaddr, __print_symbolic(REC->reason, { 2, "NOT_SPECIFIED" }, { 3, "NO_SOCKET" }, { 128, "MAX" })`;

const FORMAT_WITHOUT = `name: kfree_skb
format:
	field:void * skbaddr;	offset:8;	size:8;	signed:0;
	field:void * location;	offset:16;	size:8;	signed:0;
	field:unsigned short protocol;	offset:24;	size:2;	signed:0;

print fmt: "skbaddr=%p protocol=%u location=%p", REC->skbaddr, REC->protocol, REC->location`;

Deno.test("drop reasons: from the tracepoint format when there is no BTF", () => {
  const r = reasonsFromTracepointFormat(FORMAT_WITH);
  assertEquals(r.source, "tracepoint");
  assertEquals([...r.names.entries()], [[2, "NOT_SPECIFIED"], [3, "NO_SOCKET"]]);
});

Deno.test("drop reasons: a kernel without them has none", () => {
  const r = reasonsFromTracepointFormat(FORMAT_WITHOUT);
  assertEquals(r.source, "none");
  assertEquals(r.names.size, 0);
});
