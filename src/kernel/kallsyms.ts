/**
 * Kernel symbols from /proc/kallsyms: resolves code addresses (drop
 * locations, stack frames) to `func+0xoff`. Read once, when first needed.
 * @module
 */

/** A sorted table of kernel text symbols. */
export class Kallsyms {
  readonly #addrs: BigUint64Array;
  readonly #names: string[];
  readonly #cache = new Map<bigint, string>();

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
      if (tab >= 0) name = name.slice(0, tab);
      const addr = BigInt("0x" + line.slice(0, sp1));
      if (addr === 0n) continue; // addresses hidden (kptr_restrict, not root)
      entries.push([addr, name]);
    }
    entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    this.#addrs = new BigUint64Array(entries.map((e) => e[0]));
    this.#names = entries.map((e) => e[1]);
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

  /** Whether a function of that name exists. */
  has(name: string): boolean {
    return this.#names.includes(name);
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
    const text = found < 0 || addr === 0n
      ? `0x${addr.toString(16)}`
      : `${this.#names[found]}+0x${(addr - a[found]).toString(16)}`;
    if (this.#cache.size < 65536) this.#cache.set(addr, text);
    return text;
  }
}

let shared: Kallsyms | undefined;

/** The running kernel's symbols, read on first call. */
export function kernelSymbols(): Kallsyms {
  shared ??= new Kallsyms(Deno.readTextFileSync("/proc/kallsyms"));
  return shared;
}
