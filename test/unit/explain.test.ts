/** Drop reason texts: the file's validation, and `nettrace explain` formatting. */
import { assert, assertEquals, assertThrows } from "../helpers/assert.ts";
import { parseReasonTexts } from "../../src/diag/drop_reason_text.ts";
import { RuleFileError } from "../../src/diag/rule_file_error.ts";
import { explainReason, listReasons, normalizeReasonName } from "../../src/diag/explain.ts";
import { loadReasonTexts } from "../../src/diag/reason_texts_source.ts";
import type { DropReasons } from "../../src/event/drop_reasons.ts";
import { UsageError } from "../../src/errors.ts";
import { knownDropReasons } from "../helpers/known_drop_reasons.ts";

const KERNEL: DropReasons = {
  source: "btf",
  names: new Map([[0, "NOT_DROPPED_YET"], [1, "CONSUMED"], [2, "NOT_SPECIFIED"], [3, "NO_SOCKET"], [9, "SHINY_NEW"]]),
  subsystems: new Map(),
};

Deno.test("reason texts: the shipped file parses, every entry has an area and a meaning", () => {
  const t = loadReasonTexts();
  assert(t.size >= 120, `${t.size}`);
  assertEquals(t.get("IP_RPFILTER")?.area, "ip");
  assert(t.get("IP_RPFILTER")?.advice?.includes("rp_filter"));
  assert(t.get("CPU_BACKLOG")?.advice?.includes("netdev_max_backlog"));
});

Deno.test("reason texts: a malformed file names file, line and field", () => {
  const cases: Array<[string, number, string]> = [
    ['A: { area: x, meaning: "y" }\nb: { area: x, meaning: y }\n', 2, "b"],
    ["A: { area: x }\n", 1, "A.meaning"],
    ["A: { area: x, meaning: y, fix: z }\n", 1, "A.fix"],
    ["A: { area: x, meaning: y }\nA: { area: x, meaning: y }\n", 2, "syntax"],
    ["A: just text\n", 1, "A"],
  ];
  for (const [text, line, field] of cases) {
    const e = assertThrows(() => parseReasonTexts(text, "r.yaml"), RuleFileError);
    assertEquals([e.line, e.field], [line, field], e.message);
    assert(e.message.startsWith(`r.yaml:${line}: ${field}: `), e.message);
  }
});

Deno.test("explain: a reason with its value, area, meaning and advice; any spelling of its name", () => {
  const texts = loadReasonTexts();
  for (const q of ["NO_SOCKET", "no_socket", "SKB_DROP_REASON_NO_SOCKET"]) {
    const out = explainReason(q, KERNEL, texts).split("\n");
    assertEquals(out[0], "NO_SOCKET (socket, value 3 in this kernel)");
    assert(out[2].startsWith("  advice: "), out[2]);
  }
  assertEquals(normalizeReasonName("skb_consumed"), "CONSUMED");
});

Deno.test("explain: reasons whose own name starts with SKB_ keep it (SKB_RX_HEADROOM, SKB_CSUM)", () => {
  const k: DropReasons = { ...KERNEL, names: new Map([[65, "SKB_CSUM"], [129, "SKB_RX_HEADROOM"]]) };
  for (const q of ["SKB_RX_HEADROOM", "skb_rx_headroom", "SKB_DROP_REASON_SKB_RX_HEADROOM"]) {
    assert(explainReason(q, k, loadReasonTexts()).startsWith("SKB_RX_HEADROOM (device, value 129"), q);
  }
  assert(explainReason("SKB_CSUM", k, loadReasonTexts()).startsWith("SKB_CSUM ("));
});

Deno.test("reason texts: every reason of the kernels nettrace is tested on, and of the newest known, has text", () => {
  const texts = loadReasonTexts();
  const kernels = knownDropReasons();
  assert(kernels.size >= 4, [...kernels.keys()].join(", "));
  for (const [kernel, names] of kernels) {
    assert(names.length > 0, kernel);
    assertEquals(
      names.filter((n) => !texts.has(n)),
      [],
      `reasons of ${kernel} without text in rules/drop_reasons.yaml`,
    );
  }
});

Deno.test("explain: a reason without text still prints its name and area; an unknown one is bad input", () => {
  const out = explainReason("SHINY_NEW", KERNEL, loadReasonTexts());
  assert(out.startsWith("SHINY_NEW (core, value 9 in this kernel)\n  no explanation"), out);
  const k: DropReasons = { ...KERNEL, names: new Map([[7, "TCP_SHINY"], [8, "SKB_RX_SHINY"]]) };
  assert(explainReason("TCP_SHINY", k, loadReasonTexts()).startsWith("TCP_SHINY (tcp, value 7"));
  assert(explainReason("SKB_RX_SHINY", k, loadReasonTexts()).startsWith("SKB_RX_SHINY (device, value 8"));
  assert(explainReason("IP_RPFILTER", KERNEL, loadReasonTexts()).includes("not defined by this kernel"));
  assertThrows(() => explainReason("BOGUS", KERNEL, loadReasonTexts()), UsageError);
});

Deno.test("explain --list: one line per kernel reason in value order, and a count", () => {
  const out = listReasons(KERNEL, loadReasonTexts()).trimEnd().split("\n");
  assertEquals(out.length, 7);
  assert(out[3].startsWith("   3  NO_SOCKET ") && out[3].includes("socket: no socket"), out[3]);
  assert(out[4].endsWith("core: (no explanation yet)"), out[4]);
  assertEquals(out[6], "5 drop reasons in this kernel (btf), 4 explained");
});
