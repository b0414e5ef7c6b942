/**
 * Typed wrappers over libbpf objects: a BPF object opened from bytes, its
 * programs, maps and links. Closing the object destroys its links first, so
 * nothing stays attached whatever path the program leaves by.
 * @module
 */
import { Btf } from "./btf.ts";
import { checkInt, checkPtr, libbpf, LibbpfError } from "./libbpf.ts";
import { cstr, errno } from "./libc.ts";
import { clearLibbpfLog, lastLibbpfLog } from "./print.ts";
import { oneLineLibbpfMessage } from "./verifier_log.ts";

/** Options for opening an object. */
export interface OpenOptions {
  /** object name shown by libbpf */
  name?: string;
  /** BTF file to use instead of the kernel's (kernels without /sys/kernel/btf/vmlinux) */
  btfCustomPath?: string;
}

/** libbpf log lines that say nothing about why a load failed. */
const LOAD_LOG_NOISE =
  /skipped loading|^failed to load object|created successfully|CO-RE relocating|sec '[^']*': found|relo #\d+|CO-RE relocations|try raising 'ulimit -l'|failed to load: -\d+$|added \d+ insns from sub-prog|insn #\d+ relocated/;

const OPEN_OPTS_SIZE = 80; // sizeof(struct bpf_object_open_opts), libbpf 1.x
const OPEN_OPTS_OBJECT_NAME = 8;
const OPEN_OPTS_BTF_CUSTOM_PATH = 48;
const KPROBE_MULTI_OPTS_SIZE = 48; // sizeof(struct bpf_kprobe_multi_opts)
const KPROBE_MULTI_COOKIES = 24;
const TRACEPOINT_OPTS_SIZE = 16; // sizeof(struct bpf_tracepoint_opts): sz, bpf_cookie
const KPROBE_OPTS_SIZE = 32; // sizeof(struct bpf_kprobe_opts): sz, bpf_cookie, offset, retprobe
const KPROBE_MULTI_SYMS = 8;
const KPROBE_MULTI_CNT = 32;

function pointerValue(b: Uint8Array): bigint {
  return BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(b)));
}

/** An attachment of a program; destroy() detaches it. */
export class BpfLink {
  #ptr: Deno.PointerObject | null;
  constructor(ptr: Deno.PointerObject, readonly description: string, private owner: BpfObject) {
    this.#ptr = ptr;
  }
  /** Detaches. Idempotent. */
  destroy(): void {
    if (!this.#ptr) return;
    libbpf().bpf_link__destroy(this.#ptr);
    this.#ptr = null;
    this.owner.forgetLink(this);
  }

  /** Detaches on a worker thread, so that many links can detach at once. Idempotent. */
  async destroyInBackground(): Promise<void> {
    const p = this.#ptr;
    if (!p) return;
    this.#ptr = null;
    try {
      await libbpf().bpf_link__destroy_nonblocking(p);
    } finally {
      this.owner.forgetLink(this);
    }
  }
}

/** A program of an object. */
export class BpfProgram {
  constructor(readonly ptr: Deno.PointerObject, readonly name: string, private owner: BpfObject) {}

  /** Whether the program is loaded with its object (before load). */
  setAutoload(on: boolean): void {
    checkInt("bpf_program__set_autoload", libbpf().bpf_program__set_autoload(this.ptr, on), this.name);
  }

  /** Target kernel function of an fentry/fexit/tp_btf program (before load). */
  setAttachTarget(func: string): void {
    checkInt("bpf_program__set_attach_target", libbpf().bpf_program__set_attach_target(this.ptr, 0, cstr(func)), func);
  }

  /** The program's fd (after load). */
  get fd(): number {
    return libbpf().bpf_program__fd(this.ptr);
  }

  #link(call: string, p: Deno.PointerValue, what: string): BpfLink {
    if (!p) throw new LibbpfError(call, errno() || 22, `${this.name} -> ${what}`);
    return this.owner.adoptLink(new BpfLink(p, `${this.name} -> ${what}`, this.owner));
  }

  /** Attaches to tracepoint category:name. */
  attachTracepoint(category: string, name: string): BpfLink {
    const p = libbpf().bpf_program__attach_tracepoint(this.ptr, cstr(category), cstr(name));
    return this.#link("bpf_program__attach_tracepoint", p, `tracepoint ${category}:${name}`);
  }

  /** Attaches to a raw tracepoint. */
  attachRawTracepoint(name: string): BpfLink {
    return this.#link(
      "bpf_program__attach_raw_tracepoint",
      libbpf().bpf_program__attach_raw_tracepoint(this.ptr, cstr(name)),
      `raw_tracepoint ${name}`,
    );
  }

  /** Attaches an fentry/fexit/tp_btf program to the target given at load. */
  attachTrace(): BpfLink {
    return this.#link("bpf_program__attach_trace", libbpf().bpf_program__attach_trace(this.ptr), "trace");
  }

  /** Attaches a kprobe (or kretprobe) to a kernel function. */
  attachKprobe(func: string, retprobe: boolean): BpfLink {
    const p = libbpf().bpf_program__attach_kprobe(this.ptr, retprobe, cstr(func));
    return this.#link("bpf_program__attach_kprobe", p, `${retprobe ? "kretprobe" : "kprobe"} ${func}`);
  }

  /** Attaches to a tracepoint with a cookie (bpf_get_attach_cookie(), kernel 5.15+). */
  attachTracepointCookie(category: string, name: string, cookie: bigint): BpfLink {
    const opts = new Uint8Array(TRACEPOINT_OPTS_SIZE);
    const v = new DataView(opts.buffer);
    v.setBigUint64(0, BigInt(TRACEPOINT_OPTS_SIZE), true);
    v.setBigUint64(8, cookie, true);
    const p = libbpf().bpf_program__attach_tracepoint_opts(this.ptr, cstr(category), cstr(name), opts);
    return this.#link("bpf_program__attach_tracepoint_opts", p, `tracepoint ${category}:${name}`);
  }

  /** Attaches a kprobe (or kretprobe) with a cookie. */
  attachKprobeCookie(func: string, retprobe: boolean, cookie: bigint): BpfLink {
    const opts = new Uint8Array(KPROBE_OPTS_SIZE);
    const v = new DataView(opts.buffer);
    v.setBigUint64(0, BigInt(KPROBE_OPTS_SIZE), true);
    v.setBigUint64(8, cookie, true);
    opts[24] = retprobe ? 1 : 0;
    const p = libbpf().bpf_program__attach_kprobe_opts(this.ptr, cstr(func), opts);
    return this.#link("bpf_program__attach_kprobe_opts", p, `${retprobe ? "kretprobe" : "kprobe"} ${func}`);
  }

  /** Attaches one kprobe-multi link to many kernel functions; cookies[i] goes with funcs[i]. */
  attachKprobeMulti(funcs: string[], retprobe: boolean, cookies?: bigint[]): BpfLink {
    const names = funcs.map(cstr);
    const syms = new BigUint64Array(names.map(pointerValue));
    const opts = new Uint8Array(KPROBE_MULTI_OPTS_SIZE);
    const v = new DataView(opts.buffer);
    v.setBigUint64(0, BigInt(KPROBE_MULTI_OPTS_SIZE), true);
    v.setBigUint64(KPROBE_MULTI_SYMS, pointerValue(new Uint8Array(syms.buffer)), true);
    v.setBigUint64(KPROBE_MULTI_CNT, BigInt(funcs.length), true);
    opts[40] = retprobe ? 1 : 0;
    const cookieArray = cookies ? new BigUint64Array(cookies) : undefined;
    if (cookieArray) v.setBigUint64(KPROBE_MULTI_COOKIES, pointerValue(new Uint8Array(cookieArray.buffer)), true);
    const p = libbpf().bpf_program__attach_kprobe_multi_opts(this.ptr, null, opts);
    void names, cookieArray; // kept alive until the call returned
    return this.#link("bpf_program__attach_kprobe_multi_opts", p, `kprobe-multi ${funcs.length} functions`);
  }
}

/** A map of an object. */
export class BpfMap {
  constructor(readonly ptr: Deno.PointerObject, readonly name: string) {}

  /** The map's fd (after load). */
  get fd(): number {
    return libbpf().bpf_map__fd(this.ptr);
  }

  /** Uses an existing map (fd) instead of creating this one (before load): objects share maps. */
  reuseFd(fd: number): void {
    checkInt("bpf_map__reuse_fd", libbpf().bpf_map__reuse_fd(this.ptr, fd), this.name);
  }

  /** Sets max_entries (before load). For a ring buffer: its size in bytes. */
  setMaxEntries(n: number): void {
    checkInt("bpf_map__set_max_entries", libbpf().bpf_map__set_max_entries(this.ptr, n), this.name);
  }

  /** max_entries as it is (or will be) created. */
  get maxEntries(): number {
    return libbpf().bpf_map__max_entries(this.ptr);
  }

  /** The size of its keys, as the object defines them. */
  get keySize(): number {
    return libbpf().bpf_map__key_size(this.ptr);
  }

  /** Looks up key into value; false when there is no such element. */
  lookup(key: Uint8Array, value: Uint8Array): boolean {
    return libbpf().bpf_map_lookup_elem(this.fd, key, value) === 0;
  }

  /** Updates (or creates) key with value. */
  update(key: Uint8Array, value: Uint8Array): void {
    if (libbpf().bpf_map_update_elem(this.fd, key, value, 0n) !== 0) {
      throw new LibbpfError("bpf_map_update_elem", errno(), this.name);
    }
  }

  /** Deletes key; false when there was no such element. */
  delete(key: Uint8Array): boolean {
    return libbpf().bpf_map_delete_elem(this.fd, key) === 0;
  }

  /** The keys of a hash map, each a copy of keySize bytes (a snapshot: the kernel may change it meanwhile). */
  keys(keySize: number): Uint8Array[] {
    const keys: Uint8Array[] = [];
    let prev: Uint8Array | null = null;
    // a key deleted meanwhile restarts the walk from the first: never more than the map holds
    for (let n = this.maxEntries; n > 0; n--) {
      const next = new Uint8Array(keySize);
      if (libbpf().bpf_map_get_next_key(this.fd, prev, next) !== 0) break;
      keys.push(next);
      prev = next;
    }
    return keys;
  }

  /** The bytes of an internal map's initial value (.rodata, .bss), writable before load. */
  initialValue(): Uint8Array {
    const size = new BigUint64Array(1);
    const p = libbpf().bpf_map__initial_value(this.ptr, new Uint8Array(size.buffer));
    if (!p) throw new Error(`map ${this.name} has no initial value`);
    return new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(p, Number(size[0])));
  }
}

/** A BPF object opened from an ELF image in memory. */
export class BpfObject {
  #ptr: Deno.PointerObject | null;
  #keep: unknown[];
  #links = new Set<BpfLink>();

  private constructor(ptr: Deno.PointerObject, keep: unknown[], readonly name: string) {
    this.#ptr = ptr;
    this.#keep = keep;
  }

  /** Opens (does not load) an object from its ELF bytes. */
  static open(bytes: Uint8Array, options: OpenOptions = {}): BpfObject {
    const opts = new Uint8Array(OPEN_OPTS_SIZE);
    const v = new DataView(opts.buffer);
    const keep: unknown[] = [bytes, opts];
    v.setBigUint64(0, BigInt(OPEN_OPTS_SIZE), true);
    const name = options.name ?? "nettrace";
    const nameC = cstr(name);
    keep.push(nameC);
    v.setBigUint64(OPEN_OPTS_OBJECT_NAME, pointerValue(nameC), true);
    if (options.btfCustomPath) {
      const path = cstr(options.btfCustomPath);
      keep.push(path);
      v.setBigUint64(OPEN_OPTS_BTF_CUSTOM_PATH, pointerValue(path), true);
    }
    const p = libbpf().bpf_object__open_mem(bytes as Uint8Array<ArrayBuffer>, BigInt(bytes.length), opts);
    return new BpfObject(checkPtr("bpf_object__open_mem", p, name), keep, name);
  }

  get #p(): Deno.PointerObject {
    if (!this.#ptr) throw new Error(`BPF object ${this.name} used after close`);
    return this.#ptr;
  }

  /** A program by its C function name. */
  program(name: string): BpfProgram {
    const p = libbpf().bpf_object__find_program_by_name(this.#p, cstr(name));
    return new BpfProgram(checkPtr("bpf_object__find_program_by_name", p, name), name, this);
  }

  /** A map by name (".rodata" for the read-only data section). */
  map(name: string): BpfMap {
    const p = libbpf().bpf_object__find_map_by_name(this.#p, cstr(name));
    return new BpfMap(checkPtr("bpf_object__find_map_by_name", p, name), name);
  }

  /** The object's own BTF (borrowed: valid while the object is open). */
  btf(): Btf {
    return new Btf(checkPtr("bpf_object__btf", libbpf().bpf_object__btf(this.#p), this.name), false);
  }

  /**
   * Sets `const volatile` globals before load: name -> bytes. Offsets come from
   * the object's BTF, as a libbpf skeleton would have them.
   */
  setReadOnly(values: Record<string, Uint8Array>): void {
    const vars = new Map(this.btf().sectionVars(".rodata").map((v) => [v.name, v]));
    const data = this.map(".rodata").initialValue();
    for (const [name, bytes] of Object.entries(values)) {
      const v = vars.get(name);
      if (!v) throw new Error(`${this.name}: no read-only variable '${name}'`);
      if (bytes.length !== v.size) {
        throw new Error(`${this.name}: '${name}' is ${v.size} bytes, got ${bytes.length}`);
      }
      data.set(bytes, v.offset);
    }
  }

  /** Loads every autoloaded program into the kernel; the error carries libbpf's log. */
  load(): void {
    clearLibbpfLog();
    const ret = libbpf().bpf_object__load(this.#p);
    if (ret < 0) {
      const log = lastLibbpfLog(40)
        .map((l) => oneLineLibbpfMessage(l.trim().replace(/^libbpf: /, "")))
        .filter((l) => l && !LOAD_LOG_NOISE.test(l))
        .slice(-6)
        .join(" | ");
      throw new LibbpfError("bpf_object__load", -ret, log);
    }
  }

  /** @internal */
  adoptLink(link: BpfLink): BpfLink {
    this.#links.add(link);
    return link;
  }

  /** @internal */
  forgetLink(link: BpfLink): void {
    this.#links.delete(link);
  }

  /**
   * Destroys every link at once, each on its own worker thread. A detach
   * waits for an RCU grace period (tracepoints, kprobes): one after the other,
   * 20 links take most of a second; at once they share the grace periods.
   */
  async detachAll(): Promise<void> {
    await Promise.all([...this.#links].map((l) => l.destroyInBackground()));
  }

  /** Destroys every link, then closes the object. Idempotent. */
  close(): void {
    for (const l of [...this.#links]) l.destroy();
    if (this.#ptr) libbpf().bpf_object__close(this.#ptr);
    this.#ptr = null;
    this.#keep = [];
  }
}
