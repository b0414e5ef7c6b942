/** The tracer tree file: loading, validation errors with their line, and -t selection. */
import { assert, assertEquals, assertMatch, assertThrows } from "../helpers/assert.ts";
import { allLeaves, parseTree, TreeError } from "../../src/tracer/tree.ts";
import { selectLeaves } from "../../src/tracer/selection.ts";
import { UsageError } from "../../src/errors.ts";
import { loadTree } from "../../src/tracer/tree_source.ts";

const TREE_TEXT = Deno.readTextFileSync(new URL("../../src/tracer/tree.yaml", import.meta.url));

Deno.test("tree: the shipped tree loads, has 150+ leaves and every required tracepoint category", () => {
  const groups = parseTree(TREE_TEXT);
  const leaves = allLeaves(groups);
  assert(leaves.length >= 150, `${leaves.length} leaves`);
  for (
    const g of ["link-in", "link-out", "tc", "xdp", "bridge", "vlan", "packet", "netfilter", "conntrack", "ip-in"]
  ) assert(groups.some((x) => x.name === g), `no group ${g}`);
  const tps = new Set(leaves.filter((l) => l.kind === "tp").map((l) => l.category));
  for (const c of ["net", "skb", "qdisc", "tcp", "icmp"]) assert(tps.has(c), `no ${c} tracepoint`);
  const ends = leaves.filter((l) => l.end).map((l) => l.name);
  assert(ends.includes("kfree_skb") && ends.includes("consume_skb"), ends.join(","));
  assert(leaves.find((l) => l.name === "skb_clone")?.clone);
});

const SMALL = `
- group: ip
  desc: ip
  leaves:
    - { func: ip_rcv }
    - { func: ip_rcv_finish, skb: 2, ret: true }
    - { func: ip_defrag, skb: 1, default: false }
  groups:
    - group: ip-out
      leaves:
        - { func: ip_output, skb: 2 }
- group: life
  leaves:
    - { tp: "skb:kfree_skb", end: true }
`;

Deno.test("tree: leaves carry their fields, group and line", () => {
  const leaves = allLeaves(parseTree(SMALL));
  assertEquals(leaves.map((l) => l.name), ["ip_rcv", "ip_rcv_finish", "ip_defrag", "ip_output", "kfree_skb"]);
  const f = leaves[1];
  assertEquals([f.kind, f.skbArg, f.ret, f.defaultOn, f.group, f.line], ["func", 2, true, true, "ip", 6]);
  const t = leaves[4];
  assertEquals([t.kind, t.category, t.event, t.end, t.group], ["tp", "skb", "kfree_skb", true, "life"]);
  assertEquals(leaves[3].group, "ip-out");
});

Deno.test("tree: socket points: a function's socket argument, a tracepoint's socket record", () => {
  const leaves = allLeaves(parseTree(`
- group: tcp-state
  leaves:
    - { func: tcp_retransmit_timer, sock: true }
    - { func: tcp_other, sock: true, sk: 1 }
    - { tp: "tcp:tcp_send_reset", name: tcp_send_active_reset, sock: true }
    - { func: ip_rcv }
`));
  assertEquals(leaves.map((l) => [l.name, l.sock, l.skArg]), [
    ["tcp_retransmit_timer", true, 0],
    ["tcp_other", true, 1],
    ["tcp_send_active_reset", true, undefined],
    ["ip_rcv", false, undefined],
  ]);
  const shipped = allLeaves(parseTree(TREE_TEXT)).filter((l) => l.sock).map((l) => l.name);
  for (const n of ["tcp_cong_state_set", "tcp_send_active_reset", "tcp_receive_reset", "tcp_retransmit_timer"]) {
    assert(shipped.includes(n), `${n} is not a socket point: ${shipped}`);
  }
});

Deno.test("tree: a socket tracepoint names the function behind it, its socket and congestion state arguments", () => {
  const [reset, cong] = allLeaves(parseTree(`
- group: tcp-state
  leaves:
    - tp: "tcp:tcp_receive_reset"
      sock: true
      behind: { func: tcp_reset }
    - { tp: "tcp:tcp_cong_state_set", sock: true, behind: { func: tcp_set_ca_state, sk: 0, ca_state: 1 } }
`));
  assertEquals(reset.behind, { func: "tcp_reset", skArg: 0 });
  assertEquals(cong.behind, { func: "tcp_set_ca_state", skArg: 0, caStateArg: 1 });
  // the monitor's socket tracepoints have theirs in the shipped tree
  const shipped = new Map(allLeaves(parseTree(TREE_TEXT)).map((l) => [l.name, l.behind?.func]));
  assertEquals(
    ["tcp_cong_state_set", "tcp_send_active_reset", "tcp_receive_reset"].map((n) => shipped.get(n)),
    ["tcp_set_ca_state", "tcp_send_active_reset", "tcp_reset"],
  );
});

Deno.test("tree: a malformed file gives one error naming the line", () => {
  const cases: Array<[string, number, RegExp]> = [
    ["- group: a\n  leaves:\n    - { func: x, skb: 9 }\n", 3, /'skb' must be an argument position/],
    ["- group: a\n  leaves:\n    - { fun: x }\n", 3, /unknown leaf field 'fun'/],
    ["- group: a\n  leaves:\n    - { tp: kfree_skb }\n", 3, /not CATEGORY:EVENT/],
    ["- group: a\n  leaves:\n    - { func: x }\n    - { func: x }\n", 4, /'x' is already a leaf \(line 3\)/],
    ["- group: a\n  leaves:\n    - { func: x, end: yes please }\n", 3, /'end' must be true or false/],
    ["- group: a\n  leaves:\n    - { func: 'x }\n", 4, /end of the stream within a single quoted scalar/], // found at the end of the file
    ["- group: a\n  leaves:\n    - { func: x }\n   bad: 1\n", 4, /./],
    ["- group: A\n  leaves:\n    - { func: x }\n", 1, /a group needs 'group: NAME'/],
    ["- group: a\n  leafs:\n    - { func: x }\n", 2, /unknown group field 'leafs'/],
    ["- group: a\n", 1, /group 'a' is empty/],
    ["group: a\n", 1, /must be a list of groups/],
    ["- group: a\n  leaves:\n    - { func: x, tp: 'a:b' }\n", 3, /'func' or 'tp', not both/],
    ["- group: a\n  leaves:\n    - { func: x, nf: chains }\n", 3, /'nf' must be hook, chain or table/],
    ["- group: a\n  leaves:\n    - { tp: 'a:b', nf: hook }\n", 3, /'nf' apply to functions/],
    ["- group: a\n  leaves:\n    - { func: x, sock: true, skb: 1 }\n", 3, /takes 'sk', not 'skb'/],
    ["- group: a\n  leaves:\n    - { func: x, sk: 1 }\n", 3, /'sk' is for socket points/],
    ["- group: a\n  leaves:\n    - { func: x, sock: true, end: true }\n", 3, /no skb to end/],
    ["- group: a\n  leaves:\n    - { tp: 'a:b', sk: 0 }\n", 3, /apply to functions/],
    ["- group: a\n  leaves:\n    - { tp: 'a:b', value: { field: x, is: state } }\n", 3, /'value' is for socket points/],
    ["- group: a\n  leaves:\n    - { tp: 'a:b', sock: true, value: { arg: 1, is: state } }\n", 3, /names a field/],
    ["- group: a\n  leaves:\n    - { func: x, sock: true, value: { field: y, is: bytes } }\n", 3, /argument position/],
    ["- group: a\n  leaves:\n    - { func: x, sock: true, value: { arg: 2, is: size } }\n", 3, /state or bytes/],
    ["- group: a\n  leaves:\n    - { func: x, sock: true, value: { arg: 2, is: bytes, z: 1 } }\n", 3, /'value' is/],
    ["- group: a\n  leaves:\n    - { func: x, sock: true, without_skb: true }\n", 3, /for socket tracepoints/],
    ["- group: a\n  mode: sock\n  leaves:\n    - { func: x }\n", 4, /holds socket points only/],
    ["- group: a\n  mode: drop\n  leaves:\n    - { func: x }\n", 1, /'mode' can only be sock/],
    [
      "- group: a\n  leaves:\n    - { func: x, sock: true, behind: { func: y } }\n",
      3,
      /'behind' is for socket tracepoints/,
    ],
    ["- group: a\n  leaves:\n    - { tp: 'a:b', behind: { func: y } }\n", 3, /'behind' is for socket tracepoints/],
    ["- group: a\n  leaves:\n    - { tp: 'a:b', sock: true, behind: { sk: 0 } }\n", 3, /needs \{ func: NAME/],
    ["- group: a\n  leaves:\n    - { tp: 'a:b', sock: true, behind: { func: y, sk: 7 } }\n", 3, /'behind: sk' must/],
    ["- group: a\n  leaves:\n    - { tp: 'a:b', sock: true, behind: { func: y, skb: 1 } }\n", 3, /unknown field 'skb'/],
  ];
  for (const [text, line, re] of cases) {
    const e = assertThrows(() => parseTree(text, "t.yaml"), TreeError);
    assertEquals(e.line, line, `${JSON.stringify(text)}: ${e.message}`);
    assert(re.test(e.message), e.message);
    assert(e.message.startsWith(`t.yaml:${line}: `), e.message);
  }
});

Deno.test("selection: default, groups, leaves, matcher, exclude", () => {
  const g = parseTree(SMALL);
  const names = (sel: Parameters<typeof selectLeaves>[1]) => selectLeaves(g, sel).map((l) => l.name);
  assertEquals(names({ trace: [], exclude: [] }), ["ip_rcv", "ip_rcv_finish", "ip_output", "kfree_skb"]);
  assertEquals(names({ trace: ["ip"], exclude: [] }), ["ip_rcv", "ip_rcv_finish", "ip_output"]);
  assertEquals(names({ trace: ["ip-out", "ip_defrag"], exclude: [] }), ["ip_defrag", "ip_output"]);
  assertEquals(names({ trace: [], matcher: /^ip_rcv/, exclude: [] }), ["ip_rcv", "ip_rcv_finish"]);
  assertEquals(names({ trace: ["ip"], exclude: ["ip-out", "ip_rcv"] }), ["ip_rcv_finish"]);
  assertThrows(() => names({ trace: ["nope"], exclude: [] }), UsageError);
  assertThrows(() => names({ trace: [], exclude: ["nope"] }), UsageError);
});

Deno.test("selection: --sock takes socket points, by default every one that is on; lifecycle leaves its group out", () => {
  const g = parseTree(`
- group: ip
  leaves:
    - { func: ip_rcv }
- group: tcp-state
  leaves:
    - { tp: "tcp:tcp_receive_reset", sock: true }
- group: sock
  mode: sock
  leaves:
    - { tp: "sock:inet_sock_set_state", sock: true, value: { field: newstate, is: state } }
    - { func: tcp_sendmsg, sock: true, value: { arg: 2, is: bytes } }
    - { func: tcp_set_state, sock: true, default: false }
`);
  const names = (sel: Parameters<typeof selectLeaves>[1]) => selectLeaves(g, sel).map((l) => l.name);
  assertEquals(names({ trace: [], exclude: [] }), ["ip_rcv", "tcp_receive_reset"], "lifecycle: not the sock group");
  assertEquals(names({ trace: ["sock"], exclude: [] }), ["inet_sock_set_state", "tcp_sendmsg"], "unless -t names it");
  assertEquals(names({ trace: [], exclude: [], sock: true }), [
    "tcp_receive_reset",
    "inet_sock_set_state",
    "tcp_sendmsg",
  ]);
  assertEquals(names({ trace: ["all"], exclude: [], sock: true }), [
    "tcp_receive_reset",
    "inet_sock_set_state",
    "tcp_sendmsg",
    "tcp_set_state",
  ]);
  assertEquals(names({ trace: ["ip", "tcp_set_state"], exclude: [], sock: true }), ["tcp_set_state"]);
  const e = assertThrows(() => names({ trace: ["ip_rcv"], exclude: [], sock: true }), UsageError);
  assertMatch(e.message, /^-t ip_rcv: no socket point there \(--sock traces sockets/);
  const [state, send] = allLeaves(g).slice(2, 4);
  assertEquals([state.value, send.value], [{ field: "newstate", is: "state" }, { arg: 2, is: "bytes" }]);
  assertEquals([state.sockMode, allLeaves(g)[1].sockMode], [true, false]);
  const shipped = allLeaves(parseTree(TREE_TEXT)).filter((l) => l.sockMode).map((l) => l.name);
  for (const n of ["inet_sock_set_state", "sock_send_length", "sock_recv_length", "tcp_sendmsg", "tcp_retransmit"]) {
    assert(shipped.includes(n), `${n} is not in the shipped sock group: ${shipped}`);
  }
});

Deno.test("selection: -t all is every point of the tree, also those off by default (as in the C nettrace)", () => {
  const g = parseTree(SMALL);
  const all = selectLeaves(g, { trace: ["all"], exclude: [] }).map((l) => l.name);
  assertEquals(all, allLeaves(g).map((l) => l.name));
  assert(allLeaves(g).some((l) => !l.defaultOn), "the small tree has a point off by default");
  assertEquals(
    selectLeaves(g, { trace: ["all"], exclude: ["ip"] }).map((l) => l.name),
    all.filter((n) => !["ip_rcv", "ip_rcv_finish", "ip_output"].includes(n)),
  );
});

Deno.test("tree: the C nettrace's groups are here, by this tree's names where they differ", () => {
  const names = new Set<string>();
  const walk = (gs: ReturnType<typeof loadTree>) => gs.forEach((g) => (names.add(g.name), walk(g.groups)));
  walk(loadTree());
  // C's trace.yaml groups -> ours: link-in, link-out, sched (tc), ipvlan (vlan), bridge, arp (ip-in's arp_rcv,
  // arp_process), bonding, ovs, pkt-in/pkt-output (packet), netfilter, conntrack, ip-in, ip-out, xfrm, esp,
  // ip-route (ip-in), tcp-in, udp-in (udp), icmp-in (icmp), life
  const ours = [
    "link-in",
    "link-out",
    "tc",
    "vlan",
    "bridge",
    "bonding",
    "ovs",
    "packet",
    "netfilter",
    "conntrack",
    "ip-in",
    "ip-out",
    "xfrm",
    "esp",
    "tcp-in",
    "udp",
    "icmp",
    "life",
  ];
  assertEquals(ours.filter((g) => !names.has(g)), []);
  const leaves = new Set(allLeaves(loadTree()).map((l) => l.name));
  const cFunctions = [
    "arp_rcv",
    "arp_process",
    "bond_dev_queue_xmit",
    "ovs_vport_receive",
    "esp_input",
    "ah_output",
    "tcf_bpf_act",
    "ipvlan_xmit_mode_l3",
    "xfrm_output_resume",
    "fib_validate_source",
    "ip_route_input_slow",
  ];
  assertEquals(cFunctions.filter((f) => !leaves.has(f)), []);
});
