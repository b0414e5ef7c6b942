/**
 * The filter regions of a BPF object (bpf/include/pcap_filter.h), found in its
 * ELF bytes by their marker and overwritten, before the object is opened, with
 * the translation of a tcpdump expression. The bytes keep their length, so
 * the object's relocations and BTF line info stay right.
 * @module
 */
import type { FilterExpression } from "../filter/expression.ts";
import { REGION_INSNS, REGION_SLOTS } from "../filter/cbpf_to_ebpf.ts";

const MAGIC = { l2: 0x6e74706361704c32n, l3: 0x6e74706361704c33n } as const;
const NOP = [0x05, 0, 0, 0, 0, 0, 0, 0];

/** The object has no region to put the expression in. */
export class NoFilterRegion extends Error {}

function marker(magic: bigint): Uint8Array {
  const m = new Uint8Array(16);
  const v = new DataView(m.buffer);
  m[0] = 0x18; // BPF_LD | BPF_IMM | BPF_DW, dst r0
  v.setUint32(4, Number(magic & 0xffffffffn), true);
  v.setUint32(12, Number(magic >> 32n), true);
  return m;
}

function matchesAt(bytes: Uint8Array, at: number, pattern: Uint8Array): boolean {
  for (let i = 0; i < pattern.length; i++) if (bytes[at + i] !== pattern[i]) return false;
  return true;
}

/** Offsets of a region's marker in the ELF bytes (instruction-aligned within its section). */
export function regionOffsets(bytes: Uint8Array, which: keyof typeof MAGIC): number[] {
  const m = marker(MAGIC[which]);
  const found: number[] = [];
  for (let at = bytes.indexOf(m[0]); at >= 0 && at + m.length <= bytes.length; at = bytes.indexOf(m[0], at + 1)) {
    if (matchesAt(bytes, at, m)) found.push(at);
  }
  return found;
}

function nopsFollow(bytes: Uint8Array, at: number): boolean {
  for (let i = 0; i < REGION_SLOTS; i++) {
    const o = at + 16 + i * 8;
    for (let j = 0; j < 8; j++) if (bytes[o + j] !== NOP[j]) return false;
  }
  return true;
}

/**
 * A copy of an object's bytes with the expression's code in every region:
 * the Ethernet translation in the L2 regions, the raw IP one in the L3
 * regions. Each code is REGION_INSNS instructions (translateClassic's size).
 */
export function withExpression(objectBytes: Uint8Array, expr: FilterExpression, objectName: string): Uint8Array {
  const out = objectBytes.slice();
  for (const which of ["l2", "l3"] as const) {
    const code = expr[which];
    if (code.length !== REGION_INSNS * 8) {
      throw new Error(`filter code for ${which} is not ${REGION_INSNS} instructions`);
    }
    const at = regionOffsets(out, which).filter((o) => nopsFollow(out, o));
    if (at.length === 0) throw new NoFilterRegion(`the BPF object ${objectName} has no filter expression region`);
    for (const o of at) out.set(code, o);
  }
  return out;
}
