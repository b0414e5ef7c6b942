/**
 * Lifecycle points on kernels without attach cookies (before 5.15): one
 * program can no longer learn which of its attachments fired, so every point
 * gets its own copy of the loaded template (tracepoint, kprobe or kretprobe
 * program), its marker instruction (`v = NT_POINT_MARKER`, bpf/life.bpf.c)
 * rewritten to the point's index, and each copy is attached through a perf
 * event of its own (perf_event_open + PERF_EVENT_IOC_SET_BPF), as libbpf
 * does for kernels without BPF links.
 * @module
 */
import type { BpfProgram } from "./bpf_object.ts";
import { checkPtr, libbpf, LibbpfError } from "./libbpf.ts";
import { closeFd, cstr, errnoText, ioctl, perfEventOpen } from "./libc.ts";
import { loadProgramCopy } from "./program_copy.ts";
import { eachInParallel } from "./tracing_copies.ts";

/** The marker instruction's immediate in bpf/life.bpf.c. */
const POINT_MARKER = 0x7e5e1d00;
const MOV64_IMM = 0xb7; // BPF_ALU64 | BPF_MOV | BPF_K
const MOV32_IMM = 0xb4; // BPF_ALU | BPF_MOV | BPF_K
const BPF_PROG_TYPE_KPROBE = 2;
const BPF_PROG_TYPE_TRACEPOINT = 5;
const PERF_TYPE_TRACEPOINT = 2;
const PERF_EVENT_IOC_ENABLE = 0x2400;
const PERF_EVENT_IOC_SET_BPF = 0x40042408;
const ATTR_SIZE = 112; // PERF_ATTR_SIZE_VER5

/** The kprobe PMU: its perf type and the config bit of a return probe (sysfs, since 4.17). */
function kprobePmu(): { type: number; retprobeBit: number } {
  const dir = "/sys/bus/event_source/devices/kprobe";
  const type = Number(Deno.readTextFileSync(`${dir}/type`).trim());
  const bit = Deno.readTextFileSync(`${dir}/format/retprobe`).trim().match(/^config:(\d+)$/);
  if (!bit) throw new Error(`${dir}/format/retprobe: not 'config:N'`);
  return { type, retprobeBit: Number(bit[1]) };
}

/** Copies of one loaded template program, one per point, each attached through its own perf event. */
export class PointCopies {
  readonly #insns: Uint8Array<ArrayBuffer>;
  readonly #progType: number;
  readonly #progFds: number[] = [];
  readonly #perfFds: number[] = [];
  readonly #names: Uint8Array[] = [];
  #pmu: { type: number; retprobeBit: number } | undefined;

  /** template: a loaded tracepoint or kprobe/kretprobe program holding the marker instruction. */
  constructor(readonly template: BpfProgram, kind: "tracepoint" | "kprobe") {
    const insns = checkPtr("bpf_program__insns", libbpf().bpf_program__insns(template.ptr), template.name);
    const count = Number(libbpf().bpf_program__insn_cnt(template.ptr));
    this.#insns = new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(insns, count * 8)).slice();
    this.#progType = kind === "tracepoint" ? BPF_PROG_TYPE_TRACEPOINT : BPF_PROG_TYPE_KPROBE;
    if (this.#markers().length === 0) throw new Error(`${template.name}: no point marker instruction`);
  }

  /** Offsets of the marker instructions. */
  #markers(): number[] {
    const v = new DataView(this.#insns.buffer);
    const out: number[] = [];
    for (let off = 0; off + 8 <= this.#insns.length; off += 8) {
      const code = this.#insns[off];
      if ((code === MOV64_IMM || code === MOV32_IMM) && v.getInt32(off + 4, true) === POINT_MARKER) out.push(off);
    }
    return out;
  }

  /** The template's instructions with the marker set to id. */
  #instructionsFor(id: number): Uint8Array<ArrayBuffer> {
    const copy = this.#insns.slice();
    const v = new DataView(copy.buffer);
    for (const off of this.#markers()) v.setInt32(off + 4, id, true);
    return copy;
  }

  /** Loads one copy per point index, at most `parallel` at once: its fd, or the kernel's reason. */
  async load(ids: number[], parallel: number): Promise<Array<number | LibbpfError>> {
    const out: Array<number | LibbpfError> = new Array(ids.length);
    const count = BigInt(this.#insns.length / 8);
    await eachInParallel(ids.length, parallel, async (k) => {
      const insns = this.#instructionsFor(ids[k]);
      out[k] = await loadProgramCopy(this.#progType, this.template.name, insns, count);
      const fd = out[k];
      if (typeof fd === "number") this.#progFds.push(fd);
    });
    return out;
  }

  /** Runs a copy at a perf event: opens it, hands it the program, enables it. Throws with the reason. */
  #attach(attr: Uint8Array<ArrayBuffer>, progFd: number, what: string): void {
    const pfd = perfEventOpen(attr, -1, 0);
    if (pfd < 0) throw new Error(`perf_event_open (${what}): ${errnoText(-pfd)}`);
    let err = ioctl(pfd, PERF_EVENT_IOC_SET_BPF, progFd);
    if (err === 0) err = ioctl(pfd, PERF_EVENT_IOC_ENABLE, 0);
    if (err < 0) {
      closeFd(pfd);
      throw new Error(`attaching to ${what}: ${errnoText(-err)}`);
    }
    this.#perfFds.push(pfd);
  }

  /** Attaches a copy to a tracepoint; idFile: its tracefs `id` file. */
  attachTracepoint(progFd: number, idFile: string, what: string): void {
    const attr = new Uint8Array(ATTR_SIZE);
    const v = new DataView(attr.buffer);
    v.setUint32(0, PERF_TYPE_TRACEPOINT, true);
    v.setUint32(4, ATTR_SIZE, true);
    v.setBigUint64(8, BigInt(Deno.readTextFileSync(idFile).trim()), true);
    this.#attach(attr, progFd, what);
  }

  /** Attaches a copy to the entry (or, retprobe, the return) of a kernel function. */
  attachKprobe(progFd: number, func: string, retprobe: boolean): void {
    this.#pmu ??= kprobePmu();
    const name = cstr(func);
    const attr = new Uint8Array(ATTR_SIZE);
    const v = new DataView(attr.buffer);
    v.setUint32(0, this.#pmu.type, true);
    v.setUint32(4, ATTR_SIZE, true);
    v.setBigUint64(8, retprobe ? 1n << BigInt(this.#pmu.retprobeBit) : 0n, true); // config
    v.setBigUint64(56, BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(name))), true); // config1: kprobe_func
    this.#names.push(name); // the kernel reads it during perf_event_open
    this.#attach(attr, progFd, `${retprobe ? "kretprobe" : "kprobe"} ${func}`);
  }

  /** Detaches every copy (closes the perf events). */
  detach(): void {
    for (const fd of this.#perfFds.splice(0)) closeFd(fd);
  }

  /** Detaches and unloads every copy. */
  close(): void {
    this.detach();
    for (const fd of this.#progFds.splice(0)) closeFd(fd);
    this.#names.length = 0;
  }
}
