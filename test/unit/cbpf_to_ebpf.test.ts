/**
 * The classic-to-eBPF translation's shape, without a kernel (its verdicts are
 * compared with libpcap's in test/kernel/filter_expression_corpus.test.ts):
 * the region is filled exactly, no-ops first; what cannot run straight through
 * or does not fit is refused with a reason.
 */
import { assert, assertEquals, assertThrows } from "../helpers/assert.ts";
import { matchNothing, translateClassic, TranslateError } from "../../src/filter/cbpf_to_ebpf.ts";
import { compileFilterExpression } from "../../src/filter/expression.ts";
import { UsageError } from "../../src/errors.ts";

const RET_K = 0x06, LD_ABS_H = 0x28, JEQ_K = 0x15, JA = 0x05;
const insns = (code: Uint8Array) => {
  const v = new DataView(code.buffer);
  return Array.from({ length: code.length / 8 }, (_, i) => ({
    code: code[i * 8],
    off: v.getInt16(i * 8 + 2, true),
    imm: v.getInt32(i * 8 + 4, true),
  }));
};
const isNop = (i: { code: number; off: number }) => i.code === 0x05 && i.off === 0;

Deno.test("cbpf: the translation fills the region, unused slots first and jumped over, every jump inside it", () => {
  // ldh [12]; jeq #0x800 jt 0 jf 1; ret #65535; ret #0
  const prog = [
    { code: LD_ABS_H, jt: 0, jf: 0, k: 12 },
    { code: JEQ_K, jt: 0, jf: 1, k: 0x800 },
    { code: RET_K, jt: 0, jf: 0, k: 65535 },
    { code: RET_K, jt: 0, jf: 0, k: 0 },
  ];
  const out = insns(translateClassic(prog, 100));
  assertEquals(out.length, 100);
  // r0 = 0; if r0 == 0 goto the code: the verifier knows the branch is taken and never walks the no-ops
  assertEquals([out[0].code, out[1].code], [0xb7, 0x15]);
  const first = 2 + out[1].off;
  assert(first > 2 && out.slice(2, first).every(isNop), "no-ops between the branch and the code");
  assert(out.slice(first).every((i) => !isNop(i)), "then the code, without no-ops");
  out.forEach((ins, at) => {
    const cls = ins.code & 7;
    if ((cls === 5 || cls === 6) && ins.code !== 0x85 && ins.code !== 0x95) {
      const to = at + 1 + ins.off;
      assert(to > at && to <= 100, `the jump at ${at} goes to ${to}`);
    }
  });
  // the packet load calls bpf_probe_read_kernel (113)
  assert(out.some((i) => i.code === 0x85 && i.imm === 113));
});

Deno.test("cbpf: a program with no load has no rejection tail (the verifier refuses code nothing reaches)", () => {
  const out = insns(matchNothing(10)).slice(2).filter((i) => !isNop(i));
  // A = 0, X = 0, result = 0 (and the jump to the end, which is the next instruction: a no-op)
  assertEquals(out.map((i) => i.code), [0xb4, 0xb4, 0x62]);
});

Deno.test("cbpf: unreachable classic instructions are left out", () => {
  const prog = [
    { code: JA, jt: 0, jf: 0, k: 1 },
    { code: LD_ABS_H, jt: 0, jf: 0, k: 12 }, // never reached
    { code: RET_K, jt: 0, jf: 0, k: 1 },
  ];
  const out = insns(translateClassic(prog, 20)).filter((i) => !isNop(i));
  assert(!out.some((i) => i.code === 0x85), "the unreached load is not there");
});

Deno.test("cbpf: a backward jump (protochain) and a program over the region's size are refused", () => {
  const loop = [{ code: JA, jt: 0, jf: 0, k: 0xffffffff }, { code: RET_K, jt: 0, jf: 0, k: 0 }];
  assertThrows(() => translateClassic(loop, 50), TranslateError, "loops back");
  const big = [{ code: LD_ABS_H, jt: 0, jf: 0, k: 12 }, { code: RET_K, jt: 0, jf: 0, k: 0 }];
  assertThrows(() => translateClassic(big, 8), TranslateError, "more than the 8 nettrace has room for");
  assertThrows(() => compileFilterExpression("ip6 protochain 6"), UsageError, "loops back");
  assertThrows(() => compileFilterExpression("   "), UsageError, "empty");
});

Deno.test("cbpf: an expression only Ethernet can satisfy matches nothing where there is no MAC header", () => {
  const e = compileFilterExpression("arp");
  assertEquals(e.l3, matchNothing(e.l3.length / 8));
  assert(insns(e.l2).some((i) => i.code === 0x85), "the Ethernet translation loads the ethertype");
});
