/**
 * Kernel symbols from /proc/kallsyms: resolves code addresses (drop
 * locations, stack frames) to `func+0xoff`. Read once, when first needed.
 *
 * Kernel text lives in the top of the address space (x86_64 and arm64 both
 * put it above 0xffff000000000000), so an address is kept as a double: its
 * distance from that base, below 2^48 and exact. /proc/kallsyms has some
 * 120,000 text symbols; parsing their bytes without a BigInt or a name
 * string per line keeps the first drop line from waiting on the table (a
 * quarter of a second here, seconds under emulation). Only the names are
 * kept, back to back in one byte array (about 2.5 MB of the file's 5.5), and
 * made strings when asked for.
 * @module
 */

const MAX_FUNCTION_SIZE = 0x100000;
/** Addresses are kept relative to this base. */
const BASE = 0xffff000000000000n;
const BASE_HI = 0xffff0000;

const HEX = new Int8Array(256).fill(-1);
for (let i = 0; i < 16; i++) HEX["0123456789abcdef".charCodeAt(i)] = HEX["0123456789ABCDEF".charCodeAt(i)] = i;

/** The number in the 8 hex digits at b[at], or -1. */
function hex8(b: Uint8Array, at: number): number {
  let v = 0;
  for (let i = at; i < at + 8; i++) {
    const d = HEX[b[i]];
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

const latin1 = new TextDecoder("latin1");

/** A sorted table of kernel text symbols. */
export class Kallsyms {
  /** the names, back to back (the file itself is not kept: a third of its size) */
  readonly #names: Uint8Array;
  /** address - BASE, ascending */
  readonly #addrs: Float64Array;
  /** where each symbol's name starts and ends in #names */
  readonly #nameStart: Uint32Array;
  readonly #nameEnd: Uint32Array;
  readonly #cache = new Map<bigint, string>();
  #allNamesList?: string[];
  #variants?: Map<string, string>;
  #nameSet?: Set<string>;
  /** function name -> the module it is in ("nf_tables"); vmlinux's functions are not in it */
  readonly #modules = new Map<string, string>();

  /** Builds the table from /proc/kallsyms: its bytes, or (tests) its text. */
  constructor(file: Uint8Array | string) {
    const b = typeof file === "string" ? new TextEncoder().encode(file) : file;
    let cap = 1024, n = 0;
    let addrs = new Float64Array(cap), starts = new Uint32Array(cap), ends = new Uint32Array(cap);
    let names = new Uint8Array(1 << 16), used = 0;
    let sorted = true, prev = -1;
    for (let at = 0; at < b.length;) {
      // "ffffffff81000000 T _text" or "ffffffffc0a01000 t nft_do_chain	[nf_tables]"
      let eol = b.indexOf(0x0a, at);
      if (eol < 0) eol = b.length;
      const line = at;
      at = eol + 1;
      if (eol - line < 20 || b[line + 16] !== 0x20 || b[line + 18] !== 0x20) continue; // not a 64-bit address
      const type = b[line + 17]; // t T w W
      if (type !== 0x74 && type !== 0x54 && type !== 0x77 && type !== 0x57) continue;
      const hi = hex8(b, line);
      if (!(hi >= BASE_HI)) continue; // hidden (kptr_restrict, not root: all zeros) or not kernel text
      const lo = hex8(b, line + 8);
      if (lo < 0) continue;
      const addr = (hi - BASE_HI) * 0x100000000 + lo;
      const start = line + 19;
      // the name ends at the line's end, or at a tab before "[module]"
      let end = start;
      while (end < eol && b[end] !== 0x09) end++;
      if (end < eol) {
        // "\t[module]"
        const close = b.indexOf(0x5d, end);
        if (b[end + 1] === 0x5b && close > end && close < eol) {
          this.#modules.set(latin1.decode(b.subarray(start, end)), latin1.decode(b.subarray(end + 2, close)));
        }
      }
      if (n === cap) {
        cap *= 2;
        addrs = grow(addrs, new Float64Array(cap));
        starts = grow(starts, new Uint32Array(cap));
        ends = grow(ends, new Uint32Array(cap));
      }
      const len = end - start;
      if (used + len > names.length) names = grow(names, new Uint8Array(Math.max(names.length * 2, used + len)));
      names.set(b.subarray(start, end), used);
      if (addr < prev) sorted = false;
      prev = addr;
      addrs[n] = addr;
      starts[n] = used;
      ends[n] = used + len;
      used += len;
      n++;
    }
    if (!sorted) {
      // /proc/kallsyms is in address order on the kernels seen so far; sort when one is not
      const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => addrs[a] - addrs[b]);
      const [a2, s2, e2] = [new Float64Array(n), new Uint32Array(n), new Uint32Array(n)];
      order.forEach((from, i) => {
        a2[i] = addrs[from];
        s2[i] = starts[from];
        e2[i] = ends[from];
      });
      [addrs, starts, ends] = [a2, s2, e2];
    }
    // copies of the used parts: the doubling buffers go
    this.#names = names.slice(0, used);
    this.#addrs = addrs.slice(0, n);
    this.#nameStart = starts.slice(0, n);
    this.#nameEnd = ends.slice(0, n);
  }

  #name(i: number): string {
    return latin1.decode(this.#names.subarray(this.#nameStart[i], this.#nameEnd[i]));
  }

  /** Every name, in address order (made on first use: lookups by name are rare). */
  #allNames(): string[] {
    this.#allNamesList ??= Array.from({ length: this.#addrs.length }, (_, i) => this.#name(i));
    return this.#allNamesList;
  }

  /** The module a function is in, or undefined for the kernel image's own. */
  moduleOf(name: string): string | undefined {
    return this.#modules.get(name);
  }

  /** Number of symbols. */
  get size(): number {
    return this.#addrs.length;
  }

  /** Address of a symbol (first match), or undefined. */
  address(name: string): bigint | undefined {
    const i = this.#allNames().indexOf(name);
    return i < 0 ? undefined : BASE + BigInt(this.#addrs[i]);
  }

  /** Start and end (the next symbol's address) of a function, or undefined. */
  range(name: string): { start: bigint; end: bigint } | undefined {
    const i = this.#allNames().indexOf(name);
    if (i < 0) return undefined;
    const start = this.#addrs[i];
    let j = i + 1;
    while (j < this.#addrs.length && this.#addrs[j] === start) j++;
    const end = j < this.#addrs.length ? this.#addrs[j] : start + 1;
    return { start: BASE + BigInt(start), end: BASE + BigInt(end) };
  }

  /** The symbol of function name: itself, or a compiled variant (name.isra.0, name.constprop.0, ...). */
  functionSymbol(name: string): string | undefined {
    if (this.has(name)) return name;
    if (!this.#variants) {
      this.#variants = new Map();
      for (const n of this.#allNames()) {
        const dot = n.indexOf(".");
        if (dot > 0 && !this.#variants.has(n.slice(0, dot))) this.#variants.set(n.slice(0, dot), n);
      }
    }
    return this.#variants.get(name);
  }

  /** Whether a function of that name exists. */
  has(name: string): boolean {
    this.#nameSet ??= new Set(this.#allNames());
    return this.#nameSet.has(name);
  }

  /** `func+0xoff` for a code address; the hex address when no symbol covers it. */
  resolve(addr: bigint): string {
    const hit = this.#cache.get(addr);
    if (hit !== undefined) return hit;
    const a = this.#addrs;
    const key = addr >= BASE ? Number(addr - BASE) : -1;
    let lo = 0, hi = a.length - 1, found = -1;
    while (key >= 0 && lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (a[mid] <= key) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    // no function is a megabyte long: such an offset means a symbol we do not know
    const text = found < 0 || key - a[found] > MAX_FUNCTION_SIZE
      ? `0x${addr.toString(16)}`
      : `${this.#name(found)}+0x${(key - a[found]).toString(16)}`;
    if (this.#cache.size < 65536) this.#cache.set(addr, text);
    return text;
  }
}

function grow<T extends Float64Array | Uint32Array | Uint8Array>(from: T, to: T): T {
  (to as Float64Array).set(from as Float64Array);
  return to;
}

let shared: Kallsyms | undefined;

/** Forgets the symbols read so far: after loading BPF programs (they have symbols too). */
export function forgetKernelSymbols(): void {
  shared = undefined;
}

/** The running kernel's symbols, read on first call. */
export function kernelSymbols(): Kallsyms {
  shared ??= new Kallsyms(Deno.readFileSync("/proc/kallsyms"));
  return shared;
}
