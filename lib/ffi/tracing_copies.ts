/**
 * fentry/fexit programs for many kernel functions from one loaded program.
 * A tracing program's target is fixed when it is loaded, so each function
 * needs a program of its own; loading a whole libbpf object per function
 * (ELF, BTF, CO-RE, module BTFs, verifier) made start-up grow by about half
 * a second per function under qemu. Here the template program is loaded
 * once with its object; its relocated instructions (map fds included) are
 * then loaded again per function with bpf_prog_load, on worker threads so
 * that verifier passes run side by side, and each is linked with a cookie
 * that names its point.
 * @module
 */
import { checkPtr, libbpf, LibbpfError } from "./libbpf.ts";
import type { BpfProgram } from "./bpf_object.ts";
import { closeFd, closeFdInBackground, cstr, readCString } from "./libc.ts";
import { loadProgramCopy } from "./program_copy.ts";

const BPF_PROG_TYPE_TRACING = 26;
const BPF_TRACE_FENTRY = 24;
const BPF_TRACE_FEXIT = 25;
const BTF_KIND_FUNC = 12;

/* struct bpf_link_create_opts: sz, flags, iter_info, iter_info_len, target_btf_id, union { tracing.cookie } */
const LINK_CREATE_OPTS_SIZE = 64;
const LCO_TRACING_COOKIE = 32;
/* struct bpf_btf_info: btf, btf_size, id, name, name_len, kernel_btf */
const BTF_INFO_SIZE = 32;

/** Where a kernel function's type lives: its BTF id, and the fd of the module BTF holding it (0: vmlinux). */
export interface FunctionTarget {
  btfId: number;
  objFd: number;
}

/** BTF ids of kernel functions: vmlinux's, and of a module only the module's BTF, read once when first asked. */
export class KernelFunctionIds {
  #vmlinux: Deno.PointerObject | null;
  /** module name -> BTF object id (names read from the kernel, no BTF loaded) */
  #moduleIds?: Map<string, number>;
  readonly #modules = new Map<string, { fd: number; btf: Deno.PointerObject } | null>();

  constructor() {
    this.#vmlinux = checkPtr("btf__load_vmlinux_btf", libbpf().btf__load_vmlinux_btf());
  }

  /** The function's target, or undefined when no kernel BTF has it. module: where kallsyms says it is. */
  find(name: string, module?: string): FunctionTarget | undefined {
    if (!this.#vmlinux) return undefined;
    const n = cstr(name);
    if (!module) {
      const id = libbpf().btf__find_by_name_kind(this.#vmlinux, n, BTF_KIND_FUNC);
      return id > 0 ? { btfId: id, objFd: 0 } : undefined;
    }
    const m = this.#module(module);
    if (!m) return undefined;
    const id = libbpf().btf__find_by_name_kind(m.btf, n, BTF_KIND_FUNC);
    return id > 0 ? { btfId: id, objFd: m.fd } : undefined;
  }

  #module(name: string): { fd: number; btf: Deno.PointerObject } | null {
    if (this.#modules.has(name)) return this.#modules.get(name)!;
    const id = this.#kernelBtfIds().get(name);
    let m: { fd: number; btf: Deno.PointerObject } | null = null;
    if (id !== undefined) {
      const fd = libbpf().bpf_btf_get_fd_by_id(id);
      const btf = fd >= 0 ? libbpf().btf__load_from_kernel_by_id_split(id, this.#vmlinux) : null;
      if (btf) m = { fd, btf };
      else if (fd >= 0) closeFd(fd);
    }
    this.#modules.set(name, m);
    return m;
  }

  /** The kernel's BTF objects by name (vmlinux and each module's), from their info alone. */
  #kernelBtfIds(): Map<string, number> {
    if (this.#moduleIds) return this.#moduleIds;
    this.#moduleIds = new Map();
    const next = new Uint32Array(1);
    let id = 0;
    while (libbpf().bpf_btf_get_next_id(id, new Uint8Array(next.buffer)) === 0) {
      id = next[0];
      const fd = libbpf().bpf_btf_get_fd_by_id(id);
      if (fd < 0) continue;
      const name = new Uint8Array(64);
      const info = new Uint8Array(BTF_INFO_SIZE);
      const v = new DataView(info.buffer);
      v.setBigUint64(16, BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(name))), true);
      v.setUint32(24, name.length, true);
      const len = new Uint32Array([BTF_INFO_SIZE]);
      const ok = libbpf().bpf_obj_get_info_by_fd(fd, info, new Uint8Array(len.buffer)) === 0;
      closeFd(fd);
      if (ok && v.getUint32(28, true) !== 0) this.#moduleIds.set(readCString(Deno.UnsafePointer.of(name)), id);
    }
    return this.#moduleIds;
  }

  /** Frees the BTF and closes the module BTF fds (after every program using them is loaded). Idempotent. */
  close(): void {
    if (this.#vmlinux) libbpf().btf__free(this.#vmlinux);
    this.#vmlinux = null;
    for (const m of this.#modules.values()) {
      if (!m) continue;
      libbpf().btf__free(m.btf);
      closeFd(m.fd);
    }
    this.#modules.clear();
  }
}

/** Runs work(i) for every index below count, at most `parallel` at once. */
export async function eachInParallel(
  count: number,
  parallel: number,
  work: (i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await work(next++);
  };
  await Promise.all(Array.from({ length: Math.max(1, parallel) }, worker));
}

/** Copies of one loaded fentry or fexit program, one per kernel function, each linked with a cookie. */
export class TracingCopies {
  readonly #insns: Deno.PointerObject;
  readonly #count: bigint;
  readonly #attachType: number;
  readonly #progFds: number[] = [];
  readonly #linkFds: number[] = [];

  /** template: a loaded fentry or fexit program (its instructions are relocated, its maps created). */
  constructor(readonly template: BpfProgram, readonly kind: "fentry" | "fexit") {
    this.#insns = checkPtr("bpf_program__insns", libbpf().bpf_program__insns(template.ptr), template.name);
    this.#count = BigInt(libbpf().bpf_program__insn_cnt(template.ptr));
    this.#attachType = kind === "fentry" ? BPF_TRACE_FENTRY : BPF_TRACE_FEXIT;
  }

  /**
   * Loads one program per target, at most `parallel` at once; returns its fd,
   * or the error with the kernel's reason (the verifier log's last lines).
   */
  async load(targets: FunctionTarget[], parallel: number): Promise<Array<number | LibbpfError>> {
    const out: Array<number | LibbpfError> = new Array(targets.length);
    await eachInParallel(targets.length, parallel, async (i) => {
      out[i] = await loadProgramCopy(BPF_PROG_TYPE_TRACING, this.template.name, this.#insns, this.#count, {
        expectedAttachType: this.#attachType,
        attachBtfId: targets[i].btfId,
        attachBtfObjFd: targets[i].objFd,
      });
      const fd = out[i];
      if (typeof fd === "number") this.#progFds.push(fd);
    });
    return out;
  }

  /**
   * Links loaded programs (copies' fds, or the template's) to their functions, each with its cookie, at most
   * `parallel` at once (each link builds its function's trampoline); undefined where it worked, else the error.
   */
  async link(
    links: Array<{ progFd: number; cookie: bigint }>,
    parallel: number,
  ): Promise<Array<LibbpfError | undefined>> {
    const out: Array<LibbpfError | undefined> = new Array(links.length);
    await eachInParallel(links.length, parallel, async (i) => {
      const o = new Uint8Array(LINK_CREATE_OPTS_SIZE);
      const v = new DataView(o.buffer);
      v.setBigUint64(0, BigInt(LINK_CREATE_OPTS_SIZE), true);
      v.setBigUint64(LCO_TRACING_COOKIE, links[i].cookie, true);
      const fd = await libbpf().bpf_link_create_nonblocking(links[i].progFd, 0, this.#attachType, o);
      if (fd >= 0) this.#linkFds.push(fd);
      else out[i] = new LibbpfError("bpf_link_create", -fd, `${this.kind} cookie ${links[i].cookie}`);
    });
    return out;
  }

  /** Detaches every link at once (each close waits for grace periods; together they share them). */
  async detach(): Promise<void> {
    const fds = this.#linkFds.splice(0);
    await Promise.all(fds.map(closeFdInBackground));
  }

  /** Detaches what is left and frees the copies. Idempotent. */
  close(): void {
    for (const fd of this.#linkFds.splice(0)) closeFd(fd);
    for (const fd of this.#progFds.splice(0)) closeFd(fd);
  }
}
