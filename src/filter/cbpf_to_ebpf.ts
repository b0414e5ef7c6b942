/**
 * Classic BPF (what libpcap compiles a tcpdump expression to) translated to
 * eBPF instructions that fill one filter region of a BPF program
 * (bpf/include/pcap_filter.h).
 *
 * The region's contract, fixed by pcap_filter.h:
 * - r9 points to struct nt_pcap_scratch: data (u64, the packet's first byte,
 *   a kernel address), len (u32, the packet's length from there), caplen
 *   (u32, how many bytes from there can be read), result (u32), a load buffer
 *   (8 bytes) and the 16 words of classic BPF's scratch memory;
 * - the region may use r0-r8 and ends by falling through its last
 *   instruction, with result set: 0 for no match.
 *
 * A is kept in w6, X in w7 (32-bit operations, as classic BPF's). Each packet
 * load is a bpf_probe_read_kernel of 1, 2 or 4 bytes at data + offset, after
 * a check against caplen: a load past the readable bytes ends the filter with
 * no match, as classic BPF's does. Division by X = 0 does the same.
 * @module
 */
import type { ClassicInsn } from "../../lib/ffi/libpcap.ts";

/** No-op slots after each region's marker: NT_PCAP_REGION_SLOTS in pcap_filter.h. */
export const REGION_SLOTS = 1024;
/** A region's length in instructions: the marker (a 64-bit load, 2 slots) and the no-ops: what a translation fills. */
export const REGION_INSNS = REGION_SLOTS + 2;

/** The scratch struct's field offsets (struct nt_pcap_scratch). */
const SCRATCH = { data: 0, len: 8, caplen: 12, result: 16, buf: 24, mem: 32, head: 96, size: 192 } as const;
/** The packet's first bytes, read once when the filter starts: loads within them read no more (NT_PCAP_HEAD). */
const HEAD_BYTES = 96;
const MEM_WORDS = 16;

const BPF_FUNC_PROBE_READ_KERNEL = 113;
const R0 = 0, R1 = 1, R2 = 2, R3 = 3, R6 = 6, R7 = 7, R8 = 8, R9 = 9;
const A = R6, X = R7;

// classes
const LD = 0x00, LDX = 0x01, ST = 0x02, STX = 0x03, ALU = 0x04, JMP = 0x05, RET = 0x06, MISC = 0x07;
const JMP32 = 0x06, ALU64 = 0x07;
// sizes
const W = 0x00, H = 0x08, B = 0x10, DW = 0x18;
// modes
const IMM = 0x00, ABS = 0x20, IND = 0x40, MEM = 0x60, LEN = 0x80, MSH = 0xa0;
// ALU ops
const ADD = 0x00, SUB = 0x10, MUL = 0x20, DIV = 0x30, OR = 0x40, AND = 0x50, LSH = 0x60, RSH = 0x70, NEG = 0x80;
const MOD = 0x90, XOR = 0xa0, MOV = 0xb0, END = 0xd0;
// JMP ops
const JA = 0x00, JEQ = 0x10, JGT = 0x20, JGE = 0x30, JSET = 0x40, JNE = 0x50, JLT = 0xa0, JLE = 0xb0, CALL = 0x80;
// sources
const K = 0x00, SRC_X = 0x08;
const TO_BE = 0x08;

/** Why a classic program cannot be translated. */
export class TranslateError extends Error {}

/** Where a jump goes: a classic instruction's block, or the end with a verdict. */
type Target = { readonly block: number } | { readonly end: "reject" | "exit" };

interface Insn {
  readonly code: number;
  readonly dst: number;
  readonly src: number;
  readonly off: number;
  readonly imm: number;
  readonly jump?: Target;
}

const insn = (code: number, dst: number, src: number, off: number, imm: number, jump?: Target): Insn => ({
  code,
  dst,
  src,
  off,
  imm,
  jump,
});

const mov32 = (dst: number, imm: number) => insn(ALU | MOV | K, dst, 0, 0, imm);
const movReg32 = (dst: number, src: number) => insn(ALU | MOV | SRC_X, dst, src, 0, 0);
const mov64Reg = (dst: number, src: number) => insn(ALU64 | MOV | SRC_X, dst, src, 0, 0);
const add64 = (dst: number, imm: number) => insn(ALU64 | ADD | K, dst, 0, 0, imm);
const add64Reg = (dst: number, src: number) => insn(ALU64 | ADD | SRC_X, dst, src, 0, 0);
const load = (size: number, dst: number, src: number, off: number) => insn(LDX | MEM | size, dst, src, off, 0);
const store = (size: number, dst: number, off: number, src: number) => insn(STX | MEM | size, dst, src, off, 0);
const storeImm = (size: number, dst: number, off: number, imm: number) => insn(ST | MEM | size, dst, 0, off, imm);
const goto = (to: Target) => insn(JMP | JA, 0, 0, 0, 0, to);
const REJECT: Target = { end: "reject" };
const EXIT: Target = { end: "exit" };

/** The filter's start, when it loads packet bytes: the first min(caplen, HEAD_BYTES) bytes into the head. */
function readHead(): Insn[] {
  return [
    load(W, R2, R9, SCRATCH.caplen),
    insn(JMP | JLE | K, R2, 0, 1, HEAD_BYTES), // if caplen <= HEAD_BYTES skip the next
    mov32(R2, HEAD_BYTES),
    mov64Reg(R1, R9),
    add64(R1, SCRATCH.head),
    load(DW, R3, R9, SCRATCH.data),
    insn(JMP | CALL, 0, 0, 0, BPF_FUNC_PROBE_READ_KERNEL),
    insn(JMP | JNE | K, R0, 0, 0, 0, REJECT),
  ];
}

/** The bytes at data + r8 (IND) or data + k (ABS) read with the helper into the load buffer, then into dst. */
function helperLoad(dst: number, size: number, bytes: number, k: number, indexed: boolean): Insn[] {
  return [
    mov64Reg(R1, R9),
    add64(R1, SCRATCH.buf),
    mov32(R2, bytes),
    load(DW, R3, R9, SCRATCH.data),
    indexed ? add64Reg(R3, R8) : add64(R3, k),
    insn(JMP | CALL, 0, 0, 0, BPF_FUNC_PROBE_READ_KERNEL),
    insn(JMP | JNE | K, R0, 0, 0, 0, REJECT),
    load(size, dst, R9, SCRATCH.buf),
  ];
}

/**
 * A = P[offset:size], where offset is k (ABS) or X + k (IND); into dst. Past caplen: no match. Within the head:
 * read from it; else with the helper.
 */
function packetLoad(dst: number, size: number, k: number, indexed: boolean): Insn[] {
  const bytes = size === W ? 4 : size === H ? 2 : 1;
  if (k > 0x7ffffff0) return [goto(REJECT)]; // past any packet
  const out: Insn[] = [];
  out.push(load(W, R2, R9, SCRATCH.caplen));
  if (indexed) {
    out.push(movReg32(R8, X), add64(R8, k), mov64Reg(R1, R8), add64(R1, bytes));
    out.push(insn(JMP | JGT | SRC_X, R1, R2, 0, 0, REJECT));
    const slow = helperLoad(dst, size, bytes, k, true);
    const fast = [mov64Reg(R1, R9), add64Reg(R1, R8), load(size, dst, R1, SCRATCH.head)];
    out.push(insn(JMP | JGT | K, R8, 0, fast.length + 1, HEAD_BYTES - bytes)); // past the head: the helper
    out.push(...fast, insn(JMP | JA, 0, 0, slow.length, 0), ...slow);
  } else {
    out.push(insn(JMP | JLT | K, R2, 0, 0, k + bytes, REJECT));
    out.push(
      ...(k + bytes <= HEAD_BYTES ? [load(size, dst, R9, SCRATCH.head + k)] : helperLoad(dst, size, bytes, k, false)),
    );
  }
  if (bytes > 1) out.push(insn(ALU | END | TO_BE, dst, 0, 0, bytes * 8));
  return out;
}

function memOffset(k: number): number {
  if (k >= MEM_WORDS) throw new TranslateError(`scratch memory word ${k} out of range`);
  return SCRATCH.mem + 4 * k;
}

const ALU_OPS = new Set([ADD, SUB, MUL, DIV, OR, AND, LSH, RSH, NEG, MOD, XOR]);

function aluOp(op: number, src: number, k: number): Insn[] {
  if (!ALU_OPS.has(op)) throw new TranslateError(`unknown ALU operation 0x${op.toString(16)}`);
  if (op === NEG) return [insn(ALU | NEG, A, 0, 0, 0)];
  if (src === K) {
    if ((op === DIV || op === MOD) && k === 0) return [goto(REJECT)];
    if ((op === LSH || op === RSH) && k >= 32) return [mov32(A, 0)];
    return [insn(ALU | op | K, A, 0, 0, k | 0)];
  }
  if (op === DIV || op === MOD) return [insn(JMP32 | JEQ | K, X, 0, 0, 0, REJECT), insn(ALU | op | SRC_X, A, X, 0, 0)];
  if (op === LSH || op === RSH) {
    // libpcap's interpreter: a shift by 32 or more gives 0
    return [
      insn(JMP32 | JLT | K, X, 0, 2, 32), // if X < 32: to the shift
      mov32(A, 0),
      insn(JMP | JA, 0, 0, 1, 0),
      insn(ALU | op | SRC_X, A, X, 0, 0),
    ];
  }
  return [insn(ALU | op | SRC_X, A, X, 0, 0)];
}

/** A conditional classic jump: its true and false targets, as one or two eBPF jumps. */
function conditional(op: number, src: number, k: number, t: number, f: number, next: number): Insn[] {
  const inverse: Record<number, number | undefined> = { [JEQ]: JNE, [JGT]: JLE, [JGE]: JLT };
  const cmp = (o: number, to: Target) =>
    src === K ? insn(JMP32 | o | K, A, 0, 0, k | 0, to) : insn(JMP32 | o | SRC_X, A, X, 0, 0, to);
  if (t === f) return t === next ? [] : [goto({ block: t })];
  if (f === next) return [cmp(op, { block: t })];
  const inv = inverse[op];
  if (t === next && inv !== undefined) return [cmp(inv, { block: f })];
  const out = [cmp(op, { block: t })];
  out.push(goto({ block: f }));
  return out;
}

function translateOne(ins: ClassicInsn, i: number, count: number): Insn[] {
  const cls = ins.code & 0x07;
  const size = ins.code & 0x18;
  const mode = ins.code & 0xe0;
  const op = ins.code & 0xf0;
  const src = ins.code & 0x08;
  const k = ins.k >>> 0;
  const block = (rel: number) => {
    if (rel >= 0x80000000) {
      throw new TranslateError(
        "it loops back (as 'protochain' does), and nettrace's kernel filter runs straight through",
      );
    }
    const at = i + 1 + rel;
    if (at >= count) throw new TranslateError(`jump past the program's end at instruction ${i}`);
    return at;
  };
  switch (cls) {
    case LD:
      if (size === DW) break;
      if (mode === IMM) return [mov32(A, k | 0)];
      if (mode === LEN) return [load(W, A, R9, SCRATCH.len)];
      if (mode === MEM) return [load(W, A, R9, memOffset(k))];
      if (mode === ABS || mode === IND) {
        if (k >= 0xfffff000) {
          throw new TranslateError("the expression uses Linux ancillary data, which has no packet bytes here");
        }
        return packetLoad(A, size, k, mode === IND);
      }
      break;
    case LDX:
      if (mode === IMM) return [mov32(X, k | 0)];
      if (mode === LEN) return [load(W, X, R9, SCRATCH.len)];
      if (mode === MEM) return [load(W, X, R9, memOffset(k))];
      if (mode === MSH && size === B) {
        return [...packetLoad(X, B, k, false), insn(ALU | AND | K, X, 0, 0, 0xf), insn(ALU | LSH | K, X, 0, 0, 2)];
      }
      break;
    case ST:
      return [store(W, R9, memOffset(k), A)];
    case STX:
      return [store(W, R9, memOffset(k), X)];
    case ALU:
      return aluOp(op, src, k);
    case JMP:
      if (op === JA) return [goto({ block: block(k) })];
      if (op === JEQ || op === JGT || op === JGE || op === JSET) {
        return conditional(op, src, k, block(ins.jt), block(ins.jf), i + 1);
      }
      break;
    case RET: {
      const rval = ins.code & 0x18;
      if (rval === 0x10) return [store(W, R9, SCRATCH.result, A), goto(EXIT)]; // BPF_A
      if (rval === K) return [storeImm(W, R9, SCRATCH.result, k | 0), goto(EXIT)];
      break;
    }
    case MISC:
      if (ins.code === (MISC | 0x00)) return [movReg32(X, A)]; // TAX
      if (ins.code === (MISC | 0x80)) return [movReg32(A, X)]; // TXA
      break;
  }
  throw new TranslateError(`unsupported classic BPF instruction 0x${ins.code.toString(16)} at ${i}`);
}

/** Which classic instructions a run can reach from the first. */
function reachable(program: readonly ClassicInsn[]): boolean[] {
  const seen = program.map(() => false);
  const todo = [0];
  while (todo.length) {
    const i = todo.pop()!;
    if (i >= program.length || seen[i]) continue;
    seen[i] = true;
    const { code, jt, jf, k } = program[i];
    const cls = code & 0x07;
    if (cls === RET) continue;
    if (cls === JMP) {
      if ((code & 0xf0) === JA) todo.push(k >= 0x80000000 ? program.length : i + 1 + k);
      else todo.push(i + 1 + jt, i + 1 + jf);
    } else {
      todo.push(i + 1);
    }
  }
  return seen;
}

/**
 * The translation of a classic program, exactly `size` instructions long (the
 * region's length): the unused slots first, jumped over, then the code, whose
 * last instruction falls through to the region's end.
 */
export function translateClassic(program: readonly ClassicInsn[], size: number): Uint8Array {
  if (program.length === 0) throw new TranslateError("empty program");
  // the verifier refuses code that nothing reaches: classic instructions that nothing reaches are left out
  const reached = reachable(program);
  const blocks: Insn[][] = program.map((ins, i) => reached[i] ? translateOne(ins, i, program.length) : []);
  // A and X start at 0; a program that reads the packet first reads its head
  const loads = program.some((ins, i) =>
    reached[i] && ((ins.code & 0x07) === LD || (ins.code & 0x07) === LDX) &&
    [ABS, IND, MSH].includes(ins.code & 0xe0)
  );
  const code: Insn[] = [mov32(A, 0), mov32(X, 0), ...(loads ? readHead() : [])];
  const blockStart: number[] = [];
  for (const b of blocks) {
    blockStart.push(code.length);
    code.push(...b);
  }
  // the rejection's tail (result 0), where a failed load or a division by 0 goes
  const rejectAt = code.length;
  if (code.some((ins) => ins.jump && "end" in ins.jump && ins.jump.end === "reject")) {
    code.push(storeImm(W, R9, SCRATCH.result, 0));
  }
  const exitAt = code.length;
  if (code.length > size) {
    throw new TranslateError(
      `the expression needs ${code.length} instructions, more than the ${size} nettrace has room for`,
    );
  }
  // the unused slots come first: no-ops, jumped over by a branch the verifier knows is always taken (r0 = 0; if r0 ==
  // 0), so that it never walks them (the kernel removes them as dead code); a lone slot is one no-op
  const pad = size - code.length;
  const out = new Uint8Array(size * 8);
  const v = new DataView(out.buffer);
  const put = (slot: number, ins: Insn, off = ins.off) => {
    if (off < -32768 || off > 32767) throw new TranslateError("jump out of range");
    v.setUint8(slot * 8, ins.code);
    v.setUint8(slot * 8 + 1, (ins.src << 4) | ins.dst);
    v.setInt16(slot * 8 + 2, off, true);
    v.setInt32(slot * 8 + 4, ins.imm, true);
  };
  const skip = pad >= 2 ? [insn(ALU64 | MOV | K, R0, 0, 0, 0), insn(JMP | JEQ | K, R0, 0, pad - 2, 0)] : [];
  for (let i = 0; i < pad; i++) put(i, skip[i] ?? insn(JMP | JA, 0, 0, 0, 0)); // goto +0
  const targetOf = (t: Target) => "block" in t ? blockStart[t.block] : t.end === "reject" ? rejectAt : exitAt;
  code.forEach((ins, i) => put(pad + i, ins, ins.jump ? targetOf(ins.jump) - (i + 1) : ins.off));
  return out;
}

/** A region's code that matches nothing (an expression that cannot apply at such points). */
export function matchNothing(size: number): Uint8Array {
  return translateClassic([{ code: RET | K, jt: 0, jf: 0, k: 0 }], size);
}
