/** Planning each tracer-tree leaf against what a kernel offers (pure). */
import { assertEquals, assertMatch } from "../helpers/assert.ts";
import { functionMethod, type KernelView, planLeaf } from "../../src/tracer/availability.ts";
import {
  fieldOffset,
  tracepointFields,
  type TracepointOffsets,
  tracepointOffsets,
} from "../../src/kernel/tracepoint_format.ts";
import type { CapabilityReport } from "../../src/kernel/capability_report.ts";
import { allLeaves, parseTree, type TraceLeaf } from "../../src/tracer/tree.ts";
import { showsReturn } from "../../src/modes/life_plan.ts";

function caps(available: string[]): CapabilityReport {
  const kinds = ["tracepoint", "raw_tracepoint", "tp_btf", "kprobe", "kretprobe", "kprobe-multi", "fentry", "fexit"];
  const attach = Object.fromEntries(
    kinds.map((
      k,
    ) => [k, { name: k, available: available.includes(k), detail: available.includes(k) ? "ok" : `no ${k} (EPERM)` }]),
  );
  const c = { name: "x", available: true, detail: "" };
  return {
    kernelRelease: "t",
    btf: c,
    tracefs: c,
    ringBuffer: c,
    dropReasons: c,
    attach,
  } as unknown as CapabilityReport;
}

const [ipRcv, finish, missing, tp, gone, cong, activeReset, rtoTimer, sockless, congBehind, resetBehind] = allLeaves(
  parseTree(`
- group: g
  leaves:
    - { func: ip_rcv_finish_core, alias: [ip_rcv_core] }
    - { func: ip_rcv_finish, skb: 2 }
    - { func: not_here }
    - { tp: "net:netif_rx" }
    - { tp: "net:no_such_event" }
    - { tp: "tcp:tcp_cong_state_set", sock: true }
    - { tp: "tcp:tcp_send_reset", name: tcp_send_active_reset, sock: true }
    - { func: tcp_retransmit_timer, sock: true }
    - { tp: "net:netif_rx", name: netif_rx_sock, sock: true }
    - { tp: "tcp:tcp_cong_state_set", name: cong2, sock: true, behind: { func: tcp_set_ca_state, ca_state: 1 } }
    - { tp: "tcp:tcp_receive_reset", sock: true, behind: { func: tcp_reset_gone } }
`),
);

function view(available: string[]): KernelView {
  return {
    capabilities: caps(available),
    tracepointOffsets: (_c, e) =>
      ({
        netif_rx: { skb: 8 },
        tcp_cong_state_set: { sk: 8, caState: 62 },
        tcp_send_reset: { skb: 8, sk: 16, rstReason: 28 },
      } as Record<string, TracepointOffsets>)[e] ?? "no-event",
    tracepointField: (_c, e, f) =>
      e === "inet_sock_set_state" && f === "newstate" ? { offset: 20, size: 4, signed: true } : undefined,
    symbol: (n) =>
      ({
        ip_rcv_core: "ip_rcv_core.isra.0",
        ip_rcv_finish: "ip_rcv_finish",
        tcp_retransmit_timer: "tcp_retransmit_timer",
        tcp_set_ca_state: "tcp_set_ca_state",
      } as Record<
        string,
        string
      >)[n],
    skbFunctions: () => [],
    returnType: () => "int",
    paramPosition: (n, types) =>
      types.includes("struct sk_buff *")
        ? ({ ip_rcv_core: 0, ip_rcv_finish: 2 } as Record<string, number>)[n] ?? "no-btf"
        : n === "tcp_retransmit_timer" || n === "tcp_set_ca_state"
        ? 0
        : "no-param",
  };
}

Deno.test("plan: tracepoints attach as tracepoints with the skbaddr offset; a missing event says so", () => {
  const v = view(["tracepoint"]);
  assertEquals(planLeaf(tp, v), { usable: true, method: "tracepoint", offsets: { skb: 8 } });
  assertEquals(planLeaf(gone, v), { usable: false, why: "no tracepoint net:no_such_event in this kernel" });
});

Deno.test("plan: functions take fentry, then kprobe-multi, then kprobe; aliases and compiled names resolve", () => {
  assertEquals(functionMethod(caps(["kprobe", "kprobe-multi", "fentry"])).method, "fentry");
  assertEquals(functionMethod(caps(["kprobe", "kprobe-multi"])).method, "kprobe-multi");
  assertEquals(functionMethod(caps(["kprobe"])).method, "kprobe");
  const v = view(["tracepoint", "kprobe"]);
  assertEquals(planLeaf(ipRcv, v), { usable: true, method: "kprobe", symbol: "ip_rcv_core.isra.0", skbArg: 0 });
  assertEquals(planLeaf(finish, v), { usable: true, method: "kprobe", symbol: "ip_rcv_finish", skbArg: 2 });
  assertEquals(planLeaf(missing, v).usable, false);
});

Deno.test("plan: a tracepoint-only kernel skips every function with the reason", () => {
  const p = planLeaf(finish, view(["tracepoint"]));
  assertEquals(p.usable, false);
  if (!p.usable) assertEquals(p.why, "no function probes on this kernel (kprobe: no kprobe; fentry: no fentry)");
});

Deno.test("tracepoint format: skbaddr offset from a format file", () => {
  const fmt = `name: consume_skb
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:void * skbaddr;\toffset:8;\tsize:8;\tsigned:0;
\tfield:void * location;\toffset:16;\tsize:8;\tsigned:0;
`;
  assertEquals(fieldOffset(fmt, "skbaddr"), 8);
  assertEquals(fieldOffset(fmt, "location"), 16);
  assertEquals(fieldOffset(fmt, "reason"), undefined);
  assertEquals(tracepointOffsets(fmt), { skb: 8, location: 16 });
});

Deno.test("tracepoint format: kfree_skb's reason (4 bytes) and location", () => {
  const fmt = `name: kfree_skb
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:void * skbaddr;\toffset:8;\tsize:8;\tsigned:0;
\tfield:void * location;\toffset:16;\tsize:8;\tsigned:0;
\tfield:void * rx_sk;\toffset:24;\tsize:8;\tsigned:0;
\tfield:unsigned short protocol;\toffset:32;\tsize:2;\tsigned:0;
\tfield:enum skb_drop_reason reason;\toffset:36;\tsize:4;\tsigned:0;
`;
  assertEquals(tracepointOffsets(fmt), { skb: 8, reason: 36, location: 16 });
  assertEquals(tracepointOffsets("name: x\n"), {});
});

Deno.test("tracepoint format: a socket record's skaddr, a reset's reason (not a drop reason), the state entered", () => {
  const reset = `name: tcp_send_reset
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:const void * skbaddr;\toffset:8;\tsize:8;\tsigned:0;
\tfield:const void * skaddr;\toffset:16;\tsize:8;\tsigned:0;
\tfield:int state;\toffset:24;\tsize:4;\tsigned:1;
\tfield:enum sk_rst_reason reason;\toffset:28;\tsize:4;\tsigned:0;
`;
  assertEquals(tracepointOffsets(reset), { skb: 8, sk: 16, rstReason: 28 });
  const cong = `name: tcp_cong_state_set
format:
\tfield:const void * skaddr;\toffset:8;\tsize:8;\tsigned:0;
\tfield:__u16 sport;\toffset:16;\tsize:2;\tsigned:0;
\tfield:__u8 cong_state;\toffset:62;\tsize:1;\tsigned:0;
`;
  assertEquals(tracepointOffsets(cong), { sk: 8, caState: 62 });
});

Deno.test("plan: socket points need the record's skaddr or a struct sock * argument", () => {
  const v = view(["tracepoint", "kprobe"]);
  assertEquals(planLeaf(cong, v), { usable: true, method: "tracepoint", offsets: { sk: 8, caState: 62 } });
  assertEquals(planLeaf(activeReset, v), {
    usable: true,
    method: "tracepoint",
    offsets: { skb: 8, sk: 16, rstReason: 28 },
  });
  assertEquals(planLeaf(rtoTimer, v), { usable: true, method: "kprobe", symbol: "tcp_retransmit_timer", skbArg: 0 });
  assertEquals(planLeaf(sockless, v), { usable: false, why: "net:netif_rx has no skaddr field here" });
  const noSock = planLeaf(finish, { ...v, paramPosition: () => "no-param" });
  assertEquals(noSock, { usable: false, why: "ip_rcv_finish takes no struct sk_buff * here (BTF)" });
});

Deno.test("plan: where tracepoints cannot be attached, a socket tracepoint hooks the function behind it", () => {
  // attached as a tracepoint wherever tracepoints work
  assertEquals(planLeaf(congBehind, view(["tracepoint", "fentry"])), {
    usable: true,
    method: "tracepoint",
    offsets: { sk: 8, caState: 62 },
  });
  // perf events refused (Debian's kernels without CAP_SYS_ADMIN): the function, its socket, the state's argument
  const refused = view(["fentry"]);
  assertEquals(planLeaf(congBehind, refused), {
    usable: true,
    method: "fentry",
    symbol: "tcp_set_ca_state",
    skbArg: 0,
    caStateArg: 1,
  });
  assertEquals(planLeaf(resetBehind, refused), {
    usable: false,
    why: "tracepoints cannot be attached, nor tcp_reset_gone behind it: not in the running kernel " +
      "(inlined, renamed, or its module is not loaded)",
  });
  // without one behind it, or without function probes, the point is not traced, with the reason
  assertEquals(planLeaf(cong, refused), { usable: false, why: "tracepoints cannot be attached" });
  const neither = planLeaf(congBehind, view([]));
  assertEquals(neither.usable, false);
  if (!neither.usable) assertMatch(neither.why, /^tracepoints cannot be attached, nor tcp_set_ca_state behind it: no/);
});

Deno.test("plan --ret: every function that returns a value (BTF), as in C; the tree's marks where BTF is silent", () => {
  const base = view(["fentry"]);
  const types: Record<string, string> = { ip_rcv: "int", kfree_skb_reason: "void", ip_rcv_core: "struct sk_buff *" };
  const v = { ...base, returnType: (n: string) => types[n] ?? "no-btf" };
  const fn = (name: string, ret = false, more: Partial<TraceLeaf> = {}): TraceLeaf => ({
    name,
    kind: "func",
    func: name,
    skbArg: 0,
    end: false,
    clone: false,
    ret,
    defaultOn: true,
    sock: false,
    withoutSkb: false,
    sockMode: false,
    aliases: [],
    group: "t",
    line: 1,
    ...more,
  });
  assertEquals(showsReturn(fn("ip_rcv"), v), true, "int: shown without a ret mark");
  assertEquals(showsReturn(fn("kfree_skb_reason", true), v), false, "void: nothing to show");
  assertEquals(showsReturn(fn("nf_mod_fn"), v), false, "no BTF, no mark");
  assertEquals(showsReturn(fn("nf_mod_fn", true), v), true, "no BTF: the tree's mark");
  assertEquals(showsReturn(fn("old_name", false, { aliases: ["ip_rcv_core"] }), v), true, "found under an alias");
  assertEquals(showsReturn(fn("skb_clone", false, { clone: true }), { ...v, returnType: () => "int" }), false);
  assertEquals(showsReturn({ ...fn("x"), kind: "tp" }, v), false, "a tracepoint has no return");
});

Deno.test("plan: a socket point's value is its record's field (its size and sign) or a function's argument", () => {
  const [state, noField, send] = allLeaves(parseTree(`
- group: sock
  mode: sock
  leaves:
    - { tp: "sock:inet_sock_set_state", sock: true, value: { field: newstate, is: state } }
    - { tp: "tcp:tcp_cong_state_set", name: x, sock: true, value: { field: nope, is: state } }
    - { func: tcp_retransmit_timer, sock: true, value: { arg: 2, is: bytes } }
`));
  const v = { ...view(["tracepoint", "kprobe"]) };
  v.tracepointOffsets = (_c, e) =>
    e === "inet_sock_set_state" ? { sk: 8 } : e === "tcp_cong_state_set" ? { sk: 8 } : "no-event";
  assertEquals(planLeaf(state, v), {
    usable: true,
    method: "tracepoint",
    offsets: { sk: 8 },
    value: { offset: 20, size: 4, signed: true },
  });
  assertEquals(planLeaf(noField, v), { usable: false, why: "tcp:tcp_cong_state_set has no nope field here" });
  assertEquals(planLeaf(send, v), {
    usable: true,
    method: "kprobe",
    symbol: "tcp_retransmit_timer",
    skbArg: 0,
    value: { offset: 2, size: 8, signed: true },
  });
});

Deno.test("tracepoint format: every field with its offset, size and sign; sk where there is no skaddr", () => {
  const fmt = `name: sock_send_length
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:void * sk;\toffset:8;\tsize:8;\tsigned:0;
\tfield:__u16 family;\toffset:16;\tsize:2;\tsigned:0;
\tfield:int ret;\toffset:20;\tsize:4;\tsigned:1;
\tfield:__u8 saddr[4];\toffset:24;\tsize:4;\tsigned:0;
`;
  const f = tracepointFields(fmt);
  assertEquals(f.get("ret"), { offset: 20, size: 4, signed: true });
  assertEquals(f.get("family"), { offset: 16, size: 2, signed: false });
  assertEquals(f.get("saddr"), { offset: 24, size: 4, signed: false });
  assertEquals(f.get("common_type"), { offset: 0, size: 2, signed: false });
  assertEquals(tracepointOffsets(fmt), { sk: 8 });
});
