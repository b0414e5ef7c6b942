/**
 * The TypeScript view of the shared structs (src/event/layout.ts) matches the
 * compiled BPF object's BTF, i.e. what clang laid out for the kernel side.
 */
import { assertEquals } from "../helpers/assert.ts";
import { BpfObject } from "../../lib/ffi/bpf_object.ts";
import { embeddedObject, eventObject } from "../../src/bpf/objects.ts";
import { PointCopies } from "../../lib/ffi/point_copies.ts";
import {
  ADDR_FILTER,
  CAPTURE,
  CAPTURED_EVENT,
  DROP_COUNT_KEY,
  DROP_COUNT_RUN,
  EVENT,
  FILTER,
  NF_DROP,
  NF_EVENT,
  NF_WHERE,
  PACKET,
  POINT,
  RTT_CONN,
  RTT_KEY,
  SOCK_EVENT,
  STORM,
  STORM_KEY,
  STORM_RUN,
} from "../../src/event/layout.ts";

function check(obj: BpfObject, struct: string, layout: Record<string, number>): void {
  const btf = obj.btf();
  const members = btf.structMembers(struct);
  if (!members) throw new Error(`struct ${struct} not in the object's BTF`);
  const actual: Record<string, number> = {};
  for (const m of members) if (!m.name.startsWith("_pad")) actual[m.name] = m.bitOffset / 8;
  actual.size = btf.structSize(struct);
  assertEquals(actual, layout, `struct ${struct}`);
}

Deno.test("layout: struct nt_event, nt_packet, nt_filter, nt_addr_filter, nt_storm_key, nt_storm, nt_storm_run, nt_drop_count_key, nt_drop_count_run, nt_capture, nt_nf_where, nt_nf_drop match the object's BTF", async () => {
  const obj = BpfObject.open(await embeddedObject("drop"), { name: "layout_check" });
  try {
    check(obj, "nt_event", EVENT);
    check(obj, "nt_packet", PACKET);
    check(obj, "nt_filter", FILTER);
    check(obj, "nt_addr_filter", ADDR_FILTER);
    check(obj, "nt_storm_key", STORM_KEY);
    check(obj, "nt_storm", STORM);
    check(obj, "nt_storm_run", STORM_RUN);
    check(obj, "nt_drop_count_key", DROP_COUNT_KEY);
    check(obj, "nt_drop_count_run", DROP_COUNT_RUN);
    check(obj, "nt_capture", CAPTURE);
    check(obj, "nt_captured_event", CAPTURED_EVENT);
    check(obj, "nt_nf_where", NF_WHERE);
    check(obj, "nt_nf_drop", NF_DROP);
  } finally {
    obj.close();
  }
});

Deno.test("layout: the lifecycle object has the same nt_event; nt_point, nt_nf_event, nt_sock_event match", async () => {
  const obj = BpfObject.open(await embeddedObject("life"), { name: "layout_check" });
  try {
    check(obj, "nt_event", EVENT);
    check(obj, "nt_point", POINT);
    check(obj, "nt_nf_event", NF_EVENT);
    check(obj, "nt_sock_event", SOCK_EVENT);
    check(obj, "nt_rtt_conn", RTT_CONN);
    check(obj, "nt_rtt_key", RTT_KEY);
  } finally {
    obj.close();
  }
});

Deno.test("layout: every lifecycle program a point copy is made of carries the point marker, in both objects", async () => {
  for (const transport of ["ringbuf", "perf"] as const) {
    const obj = BpfObject.open(await eventObject("life", transport), { name: "marker_check" });
    try {
      // PointCopies refuses a template without the marker instruction it rewrites
      new PointCopies(obj.program("nt_life_tp"), "tracepoint");
      new PointCopies(obj.program("nt_life_kp"), "kprobe");
      new PointCopies(obj.program("nt_life_krp"), "kprobe");
    } finally {
      obj.close();
    }
  }
});
