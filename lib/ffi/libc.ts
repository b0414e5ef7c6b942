/**
 * The few libc calls nettrace needs: errno, memory mapping and its release,
 * epoll, clocks, mount, files opened without following a symbolic link, and
 * formatting of libbpf's va_list messages.
 * @module
 */

const PROT_READ = 1;
const PROT_WRITE = 2;
const MAP_SHARED = 1;
const EPOLLIN = 1;
const EPOLL_CTL_ADD = 1;
const EPOLL_CLOEXEC = 0o2000000;
const MADV_RANDOM = 1;
const MADV_PAGEOUT = 21;

const libc = Deno.dlopen("libc.so.6", {
  __errno_location: { parameters: [], result: "pointer" },
  strerror: { parameters: ["i32"], result: "pointer" },
  vsnprintf: { parameters: ["buffer", "usize", "pointer", "pointer"], result: "i32" },
  mmap: { parameters: ["pointer", "usize", "i32", "i32", "i32", "i64"], result: "pointer" },
  munmap: { parameters: ["pointer", "usize"], result: "i32" },
  epoll_create1: { parameters: ["i32"], result: "i32" },
  epoll_ctl: { parameters: ["i32", "i32", "i32", "buffer"], result: "i32" },
  epoll_wait: { parameters: ["i32", "buffer", "i32", "i32"], result: "i32", nonblocking: true },
  close: { parameters: ["i32"], result: "i32" },
  // closing a tracing link waits for the trampoline's RCU grace periods: many at once share them
  close_nonblocking: { name: "close", parameters: ["i32"], result: "i32", nonblocking: true },
  clock_gettime: { parameters: ["i32", "buffer"], result: "i32" },
  mount: { parameters: ["buffer", "buffer", "buffer", "u64", "pointer"], result: "i32" },
  getpagesize: { parameters: [], result: "i32" },
  // perf_event_open(attr, pid, cpu, group_fd, flags) has no libc wrapper
  syscall: { parameters: ["i64", "buffer", "i32", "i32", "i32", "u64"], result: "i64" },
  ioctl: { parameters: ["i32", "u64", "u64"], result: "i32" },
  open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  lseek: { parameters: ["i32", "i64", "i32"], result: "i64" },
  malloc_trim: { parameters: ["usize"], result: "i32" },
  madvise: { parameters: ["pointer", "usize", "i32"], result: "i32" },
});

const sym = libc.symbols;
const encoder = new TextEncoder();

/** A NUL-terminated copy of s, for passing to C. */
export function cstr(s: string): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(s.length * 3 + 1);
  const { written } = encoder.encodeInto(s, b);
  return b.subarray(0, written + 1) as Uint8Array<ArrayBuffer>;
}

/** Reads a C string, "" for NULL. */
export function readCString(p: Deno.PointerValue): string {
  return p ? Deno.UnsafePointerView.getCString(p) : "";
}

/** The calling thread's errno. Read it right after the failing call. */
export function errno(): number {
  const p = sym.__errno_location();
  return p ? new Deno.UnsafePointerView(p).getInt32(0) : 0;
}

const ERRNO_NAMES: Record<number, string> = {
  1: "EPERM",
  2: "ENOENT",
  3: "ESRCH",
  4: "EINTR",
  5: "EIO",
  7: "E2BIG",
  9: "EBADF",
  11: "EAGAIN",
  12: "ENOMEM",
  13: "EACCES",
  14: "EFAULT",
  16: "EBUSY",
  17: "EEXIST",
  19: "ENODEV",
  22: "EINVAL",
  24: "EMFILE",
  28: "ENOSPC",
  38: "ENOSYS",
  95: "EOPNOTSUPP",
  524: "ENOTSUPP",
  4007: "LIBBPF_ERRNO__PROG2BIG",
};

/** "Operation not permitted (EPERM)" for 1. */
export function errnoText(err: number): string {
  const e = Math.abs(err);
  const name = ERRNO_NAMES[e] ?? `errno ${e}`;
  const text = e === 524 ? "Operation not supported by the kernel" : readCString(sym.strerror(e));
  return `${text} (${name})`;
}

/** Symbolic name of an errno value ("EPERM"), or "errno N". */
export function errnoName(err: number): string {
  return ERRNO_NAMES[Math.abs(err)] ?? `errno ${Math.abs(err)}`;
}

/** Formats a printf format with a va_list (libbpf's print callback). */
export function formatVaList(fmt: Deno.PointerValue, args: Deno.PointerValue): string {
  // vsnprintf consumes the va_list: its state (x86_64: 24 bytes, aarch64: 32) is saved to format a long
  // message (a verifier log) a second time into a buffer that fits it
  const state = args ? new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(args, VA_LIST_BYTES)) : undefined;
  const saved = state?.slice();
  let buf = new Uint8Array(1024);
  let n = sym.vsnprintf(buf, BigInt(buf.length), fmt, args);
  if (n >= buf.length && state && saved) {
    state.set(saved);
    buf = new Uint8Array(n + 1);
    n = sym.vsnprintf(buf, BigInt(buf.length), fmt, args);
  }
  if (n < 0) return readCString(fmt);
  return new TextDecoder().decode(buf.subarray(0, Math.min(n, buf.length - 1)));
}

/** Bytes of a va_list's state: the largest of the 64-bit ABIs nettrace runs on. */
const VA_LIST_BYTES = 32;

/** A shared memory mapping of fd; write=false maps read-only. */
export function mmapShared(fd: number, length: number, offset: number, write: boolean): Deno.PointerObject {
  const prot = write ? PROT_READ | PROT_WRITE : PROT_READ;
  const p = sym.mmap(null, BigInt(length), prot, MAP_SHARED, fd, BigInt(offset));
  // MAP_FAILED is (void *)-1
  if (!p || Deno.UnsafePointer.value(p) === 0xffffffffffffffffn) {
    throw new Error(`mmap of fd ${fd} failed: ${errnoText(errno())}`);
  }
  return p;
}

/** Unmaps a mapping made by mmapShared. */
export function munmap(p: Deno.PointerObject, length: number): void {
  sym.munmap(p, BigInt(length));
}

/** System page size in bytes. */
export function pageSize(): number {
  return sym.getpagesize();
}

/** An epoll instance watching fds for input; wait() does not block the event loop. */
export class EpollWaiter {
  #epfd: number;
  #events = new Uint8Array(12 * 4);

  constructor(fds: number | number[]) {
    this.#epfd = sym.epoll_create1(EPOLL_CLOEXEC);
    if (this.#epfd < 0) throw new Error(`epoll_create1 failed: ${errnoText(errno())}`);
    const ev = new Uint8Array(12); // struct epoll_event is packed on x86_64: u32 events, u64 data
    new DataView(ev.buffer).setUint32(0, EPOLLIN, true);
    for (const fd of typeof fds === "number" ? [fds] : fds) {
      if (sym.epoll_ctl(this.#epfd, EPOLL_CTL_ADD, fd, ev) < 0) {
        const e = errno();
        sym.close(this.#epfd);
        throw new Error(`epoll_ctl failed: ${errnoText(e)}`);
      }
    }
  }

  /** Resolves with the number of ready fds (0 on timeout). */
  async wait(timeoutMs: number): Promise<number> {
    const n = await sym.epoll_wait(this.#epfd, this.#events, 4, timeoutMs);
    return n < 0 ? 0 : n;
  }

  /** Closes the epoll fd. */
  close(): void {
    if (this.#epfd >= 0) sym.close(this.#epfd);
    this.#epfd = -1;
  }
}

const CLOCK_MONOTONIC = 1;

/** CLOCK_MONOTONIC in nanoseconds: the clock of bpf_ktime_get_ns(). */
export function monotonicNs(): bigint {
  const ts = new BigInt64Array(2);
  sym.clock_gettime(CLOCK_MONOTONIC, new Uint8Array(ts.buffer));
  return ts[0] * 1_000_000_000n + ts[1];
}

/** mount(2); throws with errno text on failure. */
export function mount(source: string, target: string, fstype: string): void {
  if (sym.mount(cstr(source), cstr(target), cstr(fstype), 0n, null) !== 0) {
    throw new Error(`mount ${fstype} on ${target} failed: ${errnoText(errno())}`);
  }
}

/** Closes a file descriptor. */
export function closeFd(fd: number): void {
  sym.close(fd);
}

/** Closes a file descriptor on a worker thread (a tracing link's close waits for RCU grace periods). */
export async function closeFdInBackground(fd: number): Promise<void> {
  await sym.close_nonblocking(fd);
}

const SYS_PERF_EVENT_OPEN = Deno.build.arch === "aarch64" ? 241 : 298;
const PERF_FLAG_FD_CLOEXEC = 8;

/** perf_event_open(2): a perf event fd, or -errno. attr is a struct perf_event_attr. */
export function perfEventOpen(attr: Uint8Array<ArrayBuffer>, pid: number, cpu: number): number {
  const fd = Number(sym.syscall(BigInt(SYS_PERF_EVENT_OPEN), attr, pid, cpu, -1, BigInt(PERF_FLAG_FD_CLOEXEC)));
  return fd < 0 ? -errno() : fd;
}

/** ioctl(2) with an integer argument; -errno on failure. */
export function ioctl(fd: number, request: number, arg: number): number {
  return sym.ioctl(fd, BigInt(request), BigInt(arg)) < 0 ? -errno() : 0;
}

const O_WRONLY = 0o1;
const O_CREAT = 0o100;
const O_TRUNC = 0o1000;
const O_APPEND = 0o2000;
const O_NOFOLLOW = Deno.build.arch === "aarch64" ? 0o100000 : 0o400000;
const O_CLOEXEC = 0o2000000;
const SEEK_END = 2;

/**
 * Opens a file for appending (truncate: emptied first), created with mode if
 * missing, never through a symbolic link (O_NOFOLLOW: ELOOP). Returns the fd
 * and the file's size, or -errno.
 */
export function openForAppend(path: string, truncate: boolean, mode: number): { fd: number; size: number } | number {
  const flags = O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC | (truncate ? O_TRUNC : 0);
  const fd = sym.open(cstr(path), flags, mode);
  if (fd < 0) return -errno();
  const end = Number(sym.lseek(fd, 0n, SEEK_END));
  return { fd, size: end < 0 ? 0 : end };
}

/** write(2) of all of data; throws with errno text on failure. Returns the bytes written. */
export function writeAll(fd: number, data: Uint8Array<ArrayBuffer>): number {
  let off = 0;
  while (off < data.length) {
    const n = Number(sym.write(fd, data.subarray(off), BigInt(data.length - off)));
    if (n < 0) {
      const err = errno();
      if (err === 4) continue; // EINTR
      throw new Error(`write failed: ${errnoText(err)}`);
    }
    off += n;
  }
  return off;
}

/**
 * Gives the memory malloc holds free back to the kernel (glibc's malloc_trim): after start-up, whose large
 * transient buffers (the kallsyms file, BTF) would otherwise stay in the process's RSS.
 */
export function releaseFreeMemory(): void {
  sym.malloc_trim(0n);
}

/**
 * Asks the kernel to reclaim the pages of a file mapping [start, start + length) now (MADV_PAGEOUT), and to read
 * back only the page that is used when one is needed again (MADV_RANDOM: no read-ahead around it). False where the
 * kernel cannot (before 5.4).
 */
export function pageOut(start: bigint, length: bigint): boolean {
  const p = Deno.UnsafePointer.create(start);
  sym.madvise(p, length, MADV_RANDOM);
  return sym.madvise(p, length, MADV_PAGEOUT) === 0;
}
