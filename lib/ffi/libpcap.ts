/**
 * The system libpcap (Debian's libpcap0.8: libpcap.so.0.8), opened when a
 * filter expression is first compiled: pcap_compile on a dead handle turns a
 * tcpdump expression into classic BPF, and pcap_offline_filter runs classic
 * BPF on one packet (libpcap's own interpreter, which the tests compare
 * nettrace's translation with).
 * @module
 */
import { cstr, readCString } from "./libc.ts";

const SYMBOLS = {
  pcap_open_dead: { parameters: ["i32", "i32"], result: "pointer" },
  pcap_compile: { parameters: ["pointer", "buffer", "buffer", "i32", "u32"], result: "i32" },
  pcap_geterr: { parameters: ["pointer"], result: "pointer" },
  pcap_freecode: { parameters: ["buffer"], result: "void" },
  pcap_close: { parameters: ["pointer"], result: "void" },
  pcap_offline_filter: { parameters: ["buffer", "buffer", "buffer"], result: "i32" },
  pcap_lib_version: { parameters: [], result: "pointer" },
} as const;

const LIBRARY_NAMES = ["libpcap.so.0.8", "libpcap.so.1", "libpcap.so"];

let lib: Deno.DynamicLibrary<typeof SYMBOLS>["symbols"] | null = null;

/** libpcap cannot be opened on this host: what to install. */
export class LibpcapMissing extends Error {}

function libpcap(): Deno.DynamicLibrary<typeof SYMBOLS>["symbols"] {
  if (lib) return lib;
  const errors: string[] = [];
  for (const name of LIBRARY_NAMES) {
    try {
      lib = Deno.dlopen(name, SYMBOLS).symbols;
      return lib;
    } catch (e) {
      errors.push(e instanceof Error ? e.message : String(e));
    }
  }
  throw new LibpcapMissing(
    `filter expressions need libpcap (Debian: apt-get install libpcap0.8; RPM: libpcap): ${errors[0]}`,
  );
}

/** One classic BPF instruction, as struct bpf_insn holds it. */
export interface ClassicInsn {
  readonly code: number;
  readonly jt: number;
  readonly jf: number;
  readonly k: number;
}

/** pcap_compile's result: the program, or libpcap's message. */
export type CompileResult = { readonly insns: readonly ClassicInsn[] } | { readonly error: string };

const PROGRAM_SIZE = 16; // struct bpf_program { u_int bf_len; struct bpf_insn *bf_insns; }
const INSN_SIZE = 8;
const PKTHDR_SIZE = 24; // struct pcap_pkthdr { struct timeval ts; bpf_u_int32 caplen, len; }

/**
 * Compiles expr for a link type (DLT_EN10MB 1, DLT_RAW 12), optimized, with
 * netmask 0 (no "ip broadcast").
 */
export function compileExpression(expr: string, linkType: number, snaplen = 262144): CompileResult {
  const pcap = libpcap();
  const handle = pcap.pcap_open_dead(linkType, snaplen);
  if (!handle) return { error: `pcap_open_dead(${linkType}) failed` };
  try {
    const program = new Uint8Array(PROGRAM_SIZE);
    if (pcap.pcap_compile(handle, program, cstr(expr), 1, 0) !== 0) {
      return { error: readCString(pcap.pcap_geterr(handle)) };
    }
    try {
      return { insns: readProgram(program) };
    } finally {
      pcap.pcap_freecode(program);
    }
  } finally {
    pcap.pcap_close(handle);
  }
}

function readProgram(program: Uint8Array<ArrayBuffer>): ClassicInsn[] {
  const v = new DataView(program.buffer);
  const count = v.getUint32(0, true);
  const at = Deno.UnsafePointer.create(v.getBigUint64(8, true));
  if (!at || count === 0) return [];
  const view = new Deno.UnsafePointerView(at);
  const insns: ClassicInsn[] = [];
  for (let i = 0; i < count; i++) {
    const o = i * INSN_SIZE;
    insns.push({
      code: view.getUint16(o),
      jt: view.getUint8(o + 2),
      jf: view.getUint8(o + 3),
      k: view.getUint32(o + 4),
    });
  }
  return insns;
}

/** struct bpf_insn array bytes of insns. */
function encodeProgram(insns: readonly ClassicInsn[]): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(insns.length * INSN_SIZE);
  const v = new DataView(b.buffer);
  insns.forEach((ins, i) => {
    const o = i * INSN_SIZE;
    v.setUint16(o, ins.code, true);
    v.setUint8(o + 2, ins.jt);
    v.setUint8(o + 3, ins.jf);
    v.setUint32(o + 4, ins.k, true);
  });
  return b;
}

/**
 * libpcap's verdict for one packet: pcap_offline_filter's return (0: no
 * match, else the snapshot length the program returned). wireLength defaults
 * to the packet's length.
 */
export function offlineFilter(insns: readonly ClassicInsn[], packet: Uint8Array, wireLength = packet.length): number {
  const code = encodeProgram(insns);
  const program = new Uint8Array(PROGRAM_SIZE);
  const pv = new DataView(program.buffer);
  pv.setUint32(0, insns.length, true);
  pv.setBigUint64(8, BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(code))), true);
  const header = new Uint8Array(PKTHDR_SIZE);
  const hv = new DataView(header.buffer);
  hv.setUint32(16, packet.length, true);
  hv.setUint32(20, wireLength, true);
  const data = new Uint8Array(Math.max(packet.length, 1));
  data.set(packet);
  const verdict = libpcap().pcap_offline_filter(program, header, data);
  return verdict;
}

/** libpcap's version string. */
export function libpcapVersion(): string {
  return readCString(libpcap().pcap_lib_version());
}
