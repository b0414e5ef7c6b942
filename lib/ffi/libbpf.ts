/**
 * Raw bindings to the system libbpf (libbpf.so.1, API of libbpf >= 1.0).
 * Only this folder touches these symbols; the rest of nettrace uses the typed
 * wrappers in bpf_object.ts, btf.ts and the ring readers.
 * @module
 */
import { errno, errnoText, readCString } from "./libc.ts";

const SYMBOLS = {
  libbpf_set_print: { parameters: ["function"], result: "pointer" },
  libbpf_strerror: { parameters: ["i32", "buffer", "usize"], result: "i32" },
  libbpf_num_possible_cpus: { parameters: [], result: "i32" },

  bpf_object__open_mem: { parameters: ["buffer", "usize", "buffer"], result: "pointer" },
  bpf_object__load: { parameters: ["pointer"], result: "i32" },
  bpf_object__close: { parameters: ["pointer"], result: "void" },
  bpf_object__btf: { parameters: ["pointer"], result: "pointer" },
  bpf_object__find_program_by_name: { parameters: ["pointer", "buffer"], result: "pointer" },
  bpf_object__find_map_by_name: { parameters: ["pointer", "buffer"], result: "pointer" },

  bpf_program__set_autoload: { parameters: ["pointer", "bool"], result: "i32" },
  bpf_program__set_attach_target: { parameters: ["pointer", "i32", "buffer"], result: "i32" },
  bpf_program__fd: { parameters: ["pointer"], result: "i32" },
  bpf_program__name: { parameters: ["pointer"], result: "pointer" },
  bpf_program__attach_tracepoint: { parameters: ["pointer", "buffer", "buffer"], result: "pointer" },
  bpf_program__attach_raw_tracepoint: { parameters: ["pointer", "buffer"], result: "pointer" },
  bpf_program__attach_trace: { parameters: ["pointer"], result: "pointer" },
  bpf_program__attach_kprobe: { parameters: ["pointer", "bool", "buffer"], result: "pointer" },
  bpf_program__attach_kprobe_multi_opts: { parameters: ["pointer", "pointer", "buffer"], result: "pointer" },
  bpf_program__attach_tracepoint_opts: { parameters: ["pointer", "buffer", "buffer", "buffer"], result: "pointer" },
  bpf_program__attach_kprobe_opts: { parameters: ["pointer", "buffer", "buffer"], result: "pointer" },
  bpf_program__insns: { parameters: ["pointer"], result: "pointer" },
  bpf_program__insn_cnt: { parameters: ["pointer"], result: "usize" },
  bpf_prog_load: { parameters: ["i32", "buffer", "buffer", "pointer", "usize", "buffer"], result: "i32" },
  // the same on a worker thread: loads (verifier passes) of many programs at once
  bpf_prog_load_nonblocking: {
    name: "bpf_prog_load",
    parameters: ["i32", "buffer", "buffer", "pointer", "usize", "buffer"],
    result: "i32",
    nonblocking: true,
  },
  bpf_link_create: { parameters: ["i32", "i32", "i32", "buffer"], result: "i32" },
  // the same on a worker thread: fentry links of different functions build their trampolines side by side
  bpf_link_create_nonblocking: {
    name: "bpf_link_create",
    parameters: ["i32", "i32", "i32", "buffer"],
    result: "i32",
    nonblocking: true,
  },
  bpf_btf_get_next_id: { parameters: ["u32", "buffer"], result: "i32" },
  bpf_btf_get_fd_by_id: { parameters: ["u32"], result: "i32" },
  bpf_obj_get_info_by_fd: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  btf__load_from_kernel_by_id_split: { parameters: ["u32", "pointer"], result: "pointer" },
  bpf_link__destroy: { parameters: ["pointer"], result: "i32" },
  // the same call on a worker thread: detaches wait for RCU grace periods, and
  // many detaching at once share them (see BpfObject.detachAll)
  bpf_link__destroy_nonblocking: {
    name: "bpf_link__destroy",
    parameters: ["pointer"],
    result: "i32",
    nonblocking: true,
  },

  bpf_prog_test_run_opts: { parameters: ["i32", "buffer"], result: "i32" },

  bpf_map__fd: { parameters: ["pointer"], result: "i32" },
  bpf_map__reuse_fd: { parameters: ["pointer", "i32"], result: "i32" },
  bpf_map__set_max_entries: { parameters: ["pointer", "u32"], result: "i32" },
  bpf_map__max_entries: { parameters: ["pointer"], result: "u32" },
  bpf_map__key_size: { parameters: ["pointer"], result: "u32" },
  bpf_map__value_size: { parameters: ["pointer"], result: "u32" },
  bpf_map__initial_value: { parameters: ["pointer", "buffer"], result: "pointer" },
  bpf_map_lookup_elem: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  bpf_map_update_elem: { parameters: ["i32", "buffer", "buffer", "u64"], result: "i32" },
  bpf_map_delete_elem: { parameters: ["i32", "buffer"], result: "i32" },
  bpf_map_get_next_key: { parameters: ["i32", "buffer", "buffer"], result: "i32" },

  ring_buffer__new: { parameters: ["i32", "function", "pointer", "pointer"], result: "pointer" },
  ring_buffer__consume: { parameters: ["pointer"], result: "i32" },
  ring_buffer__epoll_fd: { parameters: ["pointer"], result: "i32" },
  ring_buffer__free: { parameters: ["pointer"], result: "void" },

  perf_buffer__new: {
    parameters: ["i32", "usize", "function", "function", "pointer", "pointer"],
    result: "pointer",
  },
  perf_buffer__consume: { parameters: ["pointer"], result: "i32" },
  perf_buffer__epoll_fd: { parameters: ["pointer"], result: "i32" },
  perf_buffer__free: { parameters: ["pointer"], result: "void" },
  libbpf_probe_bpf_map_type: { parameters: ["i32", "pointer"], result: "i32" },
  libbpf_probe_bpf_helper: { parameters: ["i32", "i32", "pointer"], result: "i32" },

  btf__load_vmlinux_btf: { parameters: [], result: "pointer" },
  btf__parse: { parameters: ["buffer", "pointer"], result: "pointer" },
  btf__free: { parameters: ["pointer"], result: "void" },
  btf__type_cnt: { parameters: ["pointer"], result: "u32" },
  btf__find_by_name_kind: { parameters: ["pointer", "buffer", "u32"], result: "i32" },
  btf__type_by_id: { parameters: ["pointer", "u32"], result: "pointer" },
  btf__name_by_offset: { parameters: ["pointer", "u32"], result: "pointer" },
} as const;

/** The libbpf symbols, typed. */
export type Libbpf = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

/** Raised when libbpf.so.1 cannot be loaded: the host cannot run nettrace. */
export class LibbpfMissingError extends Error {}

let lib: Libbpf | undefined;

/** Opens libbpf.so.1 on first use. */
export function libbpf(): Libbpf {
  if (!lib) {
    try {
      lib = Deno.dlopen("libbpf.so.1", SYMBOLS).symbols;
    } catch (e) {
      throw new LibbpfMissingError(
        `cannot load libbpf.so.1 (${
          (e as Error).message.split("\n")[0]
        }): install libbpf 1.x (Debian/Ubuntu: apt-get install libbpf1)`,
      );
    }
  }
  return lib;
}

/** libbpf's own error codes (LIBBPF_ERRNO__START and up: bad ELF, no BTF, ...). */
const LIBBPF_ERRNO_START = 4000;

/** A failed libbpf call, carrying errno and its text (libbpf's own text for its own codes). */
export class LibbpfError extends Error {
  constructor(readonly call: string, readonly errno: number, detail = "") {
    const text = errno >= LIBBPF_ERRNO_START ? libbpfStrerror(errno) : errnoText(errno);
    super(`${call}: ${text}${detail ? `: ${detail}` : ""}`);
  }
}

/** Throws LibbpfError for a negative return value (libbpf returns -errno). */
export function checkInt(call: string, ret: number, detail = ""): number {
  if (ret < 0) throw new LibbpfError(call, -ret, detail);
  return ret;
}

/** Throws LibbpfError for a NULL pointer (libbpf sets errno). */
export function checkPtr(call: string, p: Deno.PointerValue, detail = ""): Deno.PointerObject {
  if (!p) throw new LibbpfError(call, errno() || 22, detail);
  return p;
}

/** libbpf's own text for an error code (covers LIBBPF_ERRNO__* values). */
export function libbpfStrerror(err: number): string {
  const buf = new Uint8Array(256);
  libbpf().libbpf_strerror(err, buf, BigInt(buf.length));
  return readCString(Deno.UnsafePointer.of(buf));
}

const BPF_PROG_TYPE_KPROBE = 2;

/** Whether a kprobe program may call BPF helper `id` on this kernel: libbpf's probe loads one that does. */
export function kernelHasHelper(id: number): boolean {
  return libbpf().libbpf_probe_bpf_helper(BPF_PROG_TYPE_KPROBE, id, null) === 1;
}

const BPF_FUNC_GET_ATTACH_COOKIE = 174;

/** Whether a program can learn which attachment fired (bpf_get_attach_cookie, Linux 5.15). */
export function kernelHasAttachCookies(): boolean {
  return kernelHasHelper(BPF_FUNC_GET_ATTACH_COOKIE);
}
