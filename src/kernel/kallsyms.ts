/**
 * Kernel symbols from /proc/kallsyms: resolves code addresses (drop
 * locations, stack frames) to `func+0xoff`. Read once, when first needed.
 * @module
 */

const MAX_FUNCTION_SIZE = 0x100000n;

/** A sorted table of kernel text symbols. */
export class Kallsyms {
  readonly #addrs: BigUint64Array;
  readonly #names: string[];
  readonly #cache = new Map<bigint, string>();
  #variants?: Map<string, string>;
  #nameSet?: Set<string>;
  /** function name -> the module it is in ("nf_tables"); vmlinux's functions are not in it */
  readonly #modules = new Map<string, string>();

  /** Builds the table from the text of /proc/kallsyms. */
  constructor(text: string) {
    const entries: Array<[bigint, string]> = [];
    for (const line of text.split("\n")) {
      // "ffffffff81000000 T _text" or "ffffffffc0a01000 t nft_do_chain	[nf_tables]"
      const sp1 = line.indexOf(" ");
      if (sp1 <= 0) continue;
      const type = line[sp1 + 1];
      if (type !== "t" && type !== "T" && type !== "w" && type !== "W") continue;
      let name = line.slice(sp1 + 3);
      const tab = name.indexOf("\t");
      if (tab >= 0) {
        const mod = name.slice(tab + 1).match(/^\[([^\]]+)\]/);
        name = name.slice(0, tab);
        if (mod) this.#modules.set(name, mod[1]);
      }
      const addr = BigInt("0x" + line.slice(0, sp1));
      if (addr === 0n) continue; // addresses hidden (kptr_restrict, not root)
      entries.push([addr, name]);
    }
    entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    this.#addrs = new BigUint64Array(entries.map((e) => e[0]));
    this.#names = entries.map((e) => e[1]);
  }

  /** The module a function is in, or undefined for the kernel image's own. */
  moduleOf(name: string): string | undefined {
    return this.#modules.get(name);
  }

  /** Number of symbols. */
  get size(): number {
    return this.#names.length;
  }

  /** Address of a symbol (first match), or undefined. */
  address(name: string): bigint | undefined {
    const i = this.#names.indexOf(name);
    return i < 0 ? undefined : this.#addrs[i];
  }

  /** Start and end (the next symbol's address) of a function, or undefined. */
  range(name: string): { start: bigint; end: bigint } | undefined {
    const i = this.#names.indexOf(name);
    if (i < 0) return undefined;
    const start = this.#addrs[i];
    let j = i + 1;
    while (j < this.#addrs.length && this.#addrs[j] === start) j++;
    return { start, end: j < this.#addrs.length ? this.#addrs[j] : start + 1n };
  }

  /** The symbol of function name: itself, or a compiled variant (name.isra.0, name.constprop.0, ...). */
  functionSymbol(name: string): string | undefined {
    if (this.has(name)) return name;
    if (!this.#variants) {
      this.#variants = new Map();
      for (const n of this.#names) {
        const dot = n.indexOf(".");
        if (dot > 0 && !this.#variants.has(n.slice(0, dot))) this.#variants.set(n.slice(0, dot), n);
      }
    }
    return this.#variants.get(name);
  }

  /** Whether a function of that name exists. */
  has(name: string): boolean {
    this.#nameSet ??= new Set(this.#names);
    return this.#nameSet.has(name);
  }

  /** `func+0xoff` for a code address; the hex address when no symbol covers it. */
  resolve(addr: bigint): string {
    const hit = this.#cache.get(addr);
    if (hit !== undefined) return hit;
    const a = this.#addrs;
    let lo = 0, hi = a.length - 1, found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (a[mid] <= addr) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    // no function is a megabyte long: such an offset means a symbol we do not know
    const text = found < 0 || addr === 0n || addr - a[found] > MAX_FUNCTION_SIZE
      ? `0x${addr.toString(16)}`
      : `${this.#names[found]}+0x${(addr - a[found]).toString(16)}`;
    if (this.#cache.size < 65536) this.#cache.set(addr, text);
    return text;
  }
}

let shared: Kallsyms | undefined;

/** Forgets the symbols read so far: after loading BPF programs (they have symbols too). */
export function forgetKernelSymbols(): void {
  shared = undefined;
}

/** The running kernel's symbols, read on first call. */
export function kernelSymbols(): Kallsyms {
  shared ??= new Kallsyms(Deno.readTextFileSync("/proc/kallsyms"));
  return shared;
}
