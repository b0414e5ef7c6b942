/**
 * Kernel symbols from /proc/kallsyms: resolves code addresses (drop
 * locations, stack frames) to `func+0xoff`. Read when first needed, and
 * forgotten when a trace did not need it for KEEP_UNUSED_MS (what it resolved
 * is remembered).
 *
 * Kernel text lives in the top of the address space (x86_64 and arm64 both
 * put it above 0xffff000000000000), so an address is kept as a double: its
 * distance from that base, below 2^48 and exact. The file (some 120,000
 * text symbols, 5.5 MB) is kept as one latin1 string and searched in place,
 * for the whole run: without its data symbols, and without the high half of
 * the addresses when every line has the same (x86_64: ffffffff), a fifth
 * smaller here and half on a kernel that lists its data symbols.
 * @module
 */
import { functionLookup } from "./function_lookup.ts";

const MAX_FUNCTION_SIZE = 0x100000;
/** Addresses are kept relative to this base. */
const BASE = 0xffff000000000000n;
const BASE_HI = 0xffff0000;

const HEX = new Int8Array(256).fill(-1);
for (let i = 0; i < 16; i++) HEX["0123456789abcdef".charCodeAt(i)] = HEX["0123456789ABCDEF".charCodeAt(i)] = i;

/** The number in the 8 hex digits at s[at], or -1. */
function hex8(s: string, at: number): number {
  let v = 0;
  for (let i = at; i < at + 8; i++) {
    const d = HEX[s.charCodeAt(i) & 0xff];
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

const latin1 = new TextDecoder("latin1");

/**
 * A copy of a string taken from the table's text that does not point into it: V8 makes a substring of 13 characters
 * or more as a slice of the whole, so one name kept after the table is forgotten would keep all 4 MB.
 */
function ownCopy(s: string): string;
function ownCopy(s: string | undefined): string | undefined;
function ownCopy(s: string | undefined): string | undefined {
  return s === undefined ? s : Array.from(s).join("");
}

/** A kernel text symbol's line: address (high 32 bits at least BASE_HI), type t T w W, name, "\t[module]". */
const TEXT_LINE = /^(ffff[0-9a-f]{4})([0-9a-f]{8}) [tTwW] ([^\t\n]+)(?:\t\[([^\]\n]+)\])?$/gm;
/** The same, the address's high half taken away. */
const SHORT_TEXT_LINE = /^()([0-9a-f]{8}) [tTwW] ([^\t\n]+)(?:\t\[([^\]\n]+)\])?$/gm;
/** t T w W: a code symbol's type letter. */
const isTextType = (c: number) => c === 0x74 || c === 0x54 || c === 0x77 || c === 0x57;

/**
 * The file as it is kept: its code symbols' lines only (data, bss, read-only and per-CPU lines left out), and the
 * high 8 digits of their addresses taken away when every kept line has the same (then returned as `high`). One pass
 * over the bytes, a native search and copy per line, the kept lines moved to the front of `file` (which is overwritten);
 * a string would leave megabytes of pieces behind.
 */
function keptLines(file: Uint8Array): { text: string; high?: number } {
  // "ffffffff81000000 T name": the type letter after 16 digits and a space
  const eachCodeLine = (fn: (at: number, eol: number) => void) => {
    for (let at = 0; at < file.length;) {
      const nl = file.indexOf(0x0a, at);
      const eol = nl < 0 ? file.length : nl + 1;
      if (file[at + 16] === 0x20 && isTextType(file[at + 17])) fn(at, eol);
      at = eol;
    }
  };
  // the first code line's high half, and whether every other shares it
  let first = -1, sameHigh = true;
  eachCodeLine((at) => {
    if (first < 0) first = at;
    for (let i = 0; i < 8 && sameHigh; i++) sameHigh = file[at + i] === file[first + i];
  });
  const strip = first >= 0 && sameHigh ? 8 : 0;
  const high = strip ? hex8(latin1.decode(file.subarray(first, first + 8)), 0) : undefined;
  // in place: the kept lines are never longer than what was read
  let o = 0;
  eachCodeLine((at, eol) => {
    file.copyWithin(o, at + strip, eol);
    o += eol - at - strip;
  });
  const text = latin1.decode(file.subarray(0, o));
  return high === undefined ? { text } : { text, high };
}

/** Text symbols in address order: addresses (- BASE), names, and the module of each module function. */
interface SymbolTable {
  readonly addrs: Float64Array;
  readonly names: readonly string[];
  readonly modules: ReadonlyMap<string, string>;
}

/**
 * The text symbols of the lines of s from `from` on (TEXT_LINE, natively matched: no loop per character); `high`:
 * the addresses' high half, when the lines have only the low one.
 */
function symbolTable(s: string, from: number, high?: number): SymbolTable {
  const re = new RegExp((high === undefined ? TEXT_LINE : SHORT_TEXT_LINE).source, "gm");
  re.lastIndex = from;
  let addrs: number[] = [], names: string[] = [];
  const modules = new Map<string, string>();
  let sorted = true, prev = -1;
  const shortHigh = high !== undefined && high >= BASE_HI ? high : undefined;
  if (high !== undefined && shortHigh === undefined) return { addrs: new Float64Array(0), names: [], modules };
  for (let m = re.exec(s); m !== null; m = re.exec(s)) {
    const addr = ((shortHigh ?? parseInt(m[1], 16)) - BASE_HI) * 0x100000000 + parseInt(m[2], 16);
    if (addr < prev) sorted = false;
    prev = addr;
    addrs.push(addr);
    names.push(m[3]);
    if (m[4] !== undefined) modules.set(m[3], m[4]);
  }
  if (!sorted) {
    const order = addrs.map((_, i) => i).sort((a, b) => addrs[a] - addrs[b]);
    [addrs, names] = [order.map((i) => addrs[i]), order.map((i) => names[i])];
  }
  // V8 keeps the subject of the last successful match (RegExp.input): a small one, so that it is not the table's text
  /(?:)/.exec("");
  return { addrs: Float64Array.from(addrs), names, modules };
}

/** Index of the last address <= key in ascending addrs, or -1. */
function lastAtOrBelow(addrs: Float64Array, key: number): number {
  let lo = 0, hi = addrs.length - 1, found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (addrs[mid] <= key) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
}

/**
 * Kernel symbols from /proc/kallsyms, kept as the file's text. The kernel image's symbols come first and in
 * address order (the kernel's own lookups search them by bisection), so an address is found by bisecting the
 * text itself: nothing is parsed before the first lookup, which under emulation (TCG) took seconds for a table
 * of every line. The modules' lines follow (a tab and "[module]"), in no order: they make a small sorted table.
 * Lookups by name (rare: choosing attach points) make the full table once.
 */
export class Kallsyms {
  readonly #text: string;
  /** the addresses' high half, when the lines have only the low one */
  readonly #high?: number;
  /** characters of a line's address: 16, or 8 without its high half */
  readonly #width: number;
  /** where the kernel image's lines end (the first module line) */
  readonly #imageEnd: number;
  #tail?: SymbolTable;
  #all?: SymbolTable;
  #lookup?: (name: string) => string | undefined;
  #nameSet?: Set<string>;

  /** Takes /proc/kallsyms: its bytes (overwritten), or (tests) its text. */
  constructor(file: Uint8Array | string) {
    const kept = keptLines(typeof file === "string" ? Uint8Array.from(file, (c) => c.charCodeAt(0)) : file);
    this.#text = kept.text;
    this.#high = kept.high;
    this.#width = kept.high === undefined ? 16 : 8;
    const tab = this.#text.indexOf("\t");
    this.#imageEnd = tab < 0 ? this.#text.length : this.#lineStart(tab);
  }

  /** Where the line holding position p starts. */
  #lineStart(p: number): number {
    return p <= 0 ? 0 : this.#text.lastIndexOf("\n", p - 1) + 1;
  }

  /** The address (- BASE) of the line at `line`, or -1 (not a 64-bit kernel address: hidden, per-CPU). */
  #lineAddr(line: number): number {
    const s = this.#text, w = this.#width;
    if (s.charCodeAt(line + w) !== 0x20) return -1;
    const hi = this.#high ?? hex8(s, line);
    if (!(hi >= BASE_HI)) return -1;
    const lo = hex8(s, line + w - 8);
    return lo < 0 ? -1 : (hi - BASE_HI) * 0x100000000 + lo;
  }

  /** Whether the line at `line` is a text symbol (t T w W). */
  #isText(line: number): boolean {
    const t = this.#text.charCodeAt(line + this.#width + 1);
    return t === 0x74 || t === 0x54 || t === 0x77 || t === 0x57;
  }

  /** The kernel image's last text symbol at or below key and within a function's size: [address, name]. */
  #imageSymbol(key: number): [number, string] | undefined {
    const s = this.#text;
    if (this.#imageEnd === 0 || !(this.#lineAddr(0) <= key)) return undefined;
    // bisect the characters: lo is a line at or below key, every line from hi on is above it
    let lo = 0, hi = this.#imageEnd;
    for (;;) {
      const mid = this.#lineStart((lo + hi) >>> 1);
      if (mid <= lo) break;
      if (this.#lineAddr(mid) <= key) lo = mid;
      else hi = mid;
    }
    for (let next = s.indexOf("\n", lo) + 1; next > 0 && next < hi && this.#lineAddr(next) <= key;) {
      lo = next;
      next = s.indexOf("\n", lo) + 1;
    }
    // back to the nearest code symbol (data symbols sit between functions' ends and the next function)
    for (let line = lo;; line = this.#lineStart(line - 1)) {
      const addr = this.#lineAddr(line);
      if (addr < 0 || key - addr > MAX_FUNCTION_SIZE) return undefined;
      if (this.#isText(line)) {
        const eol = s.indexOf("\n", line);
        return [addr, s.slice(line + this.#width + 3, eol < 0 ? s.length : eol)];
      }
      if (line === 0) return undefined;
    }
  }

  /** Every text symbol, in address order (made on first use: lookups by name are rare). */
  #table(): SymbolTable {
    this.#all ??= symbolTable(this.#text, 0, this.#high);
    return this.#all;
  }

  /** The module a function is in, or undefined for the kernel image's own. */
  moduleOf(name: string): string | undefined {
    this.#tail ??= symbolTable(this.#text, this.#imageEnd, this.#high);
    return ownCopy(this.#tail.modules.get(name));
  }

  /** Number of text symbols. */
  get size(): number {
    return this.#table().addrs.length;
  }

  /** Address of a symbol (first match), or undefined. */
  address(name: string): bigint | undefined {
    const t = this.#table();
    const i = t.names.indexOf(name);
    return i < 0 ? undefined : BASE + BigInt(t.addrs[i]);
  }

  /** Start and end (the next symbol's address) of a function, or undefined. */
  range(name: string): { start: bigint; end: bigint } | undefined {
    const t = this.#table();
    const i = t.names.indexOf(name);
    if (i < 0) return undefined;
    const start = t.addrs[i];
    let j = i + 1;
    while (j < t.addrs.length && t.addrs[j] === start) j++;
    const end = j < t.addrs.length ? t.addrs[j] : start + 1;
    return { start: BASE + BigInt(start), end: BASE + BigInt(end) };
  }

  /** The symbol of function name: itself, or a compiled variant (name.isra.0, name.constprop.0, ...). */
  functionSymbol(name: string): string | undefined {
    this.#nameSet ??= new Set(this.#table().names);
    this.#lookup ??= functionLookup(this.#nameSet);
    return ownCopy(this.#lookup(name));
  }

  /** Whether a function of that name exists. */
  has(name: string): boolean {
    this.#nameSet ??= new Set(this.#table().names);
    return this.#nameSet.has(name);
  }

  /** `func+0xoff` for a code address; the hex address when no symbol covers it. */
  resolve(addr: bigint): string {
    const key = addr >= BASE ? Number(addr - BASE) : -1;
    let best = key < 0 ? undefined : this.#imageSymbol(key);
    if (key >= 0) {
      this.#tail ??= symbolTable(this.#text, this.#imageEnd, this.#high);
      const i = lastAtOrBelow(this.#tail.addrs, key);
      if (i >= 0 && (!best || this.#tail.addrs[i] > best[0])) best = [this.#tail.addrs[i], this.#tail.names[i]];
    }
    // no function is a megabyte long: such an offset means a symbol we do not know
    return !best || key - best[0] > MAX_FUNCTION_SIZE
      ? `0x${addr.toString(16)}`
      : ownCopy(`${best[1]}+0x${(key - best[0]).toString(16)}`);
  }
}

let shared: Kallsyms | undefined;
/** when the table was last used (performance.now()) */
let lastUse = 0;
/** the file was read since tidyKernelSymbols last ran: its bytes are garbage now */
let readSinceTidy = false;
/** addresses resolved in this run: kept when the table is forgotten */
const resolved = new Map<bigint, string>();
const MAX_RESOLVED = 65536;

/**
 * How long the table is kept after its last use: new addresses come in bursts (a storm's first drops, the frames of
 * a stack), most in a trace's first minutes, and a read costs 0.1 s here (seconds under emulation); its 4 MB are the
 * largest part of a run that stays idle.
 */
export const KEEP_UNUSED_MS = 120_000;

/** Forgets the symbols read so far: after loading BPF programs (they have symbols too). */
export function forgetKernelSymbols(): void {
  shared = undefined;
}

/** The running kernel's symbols, read on first call (and again after they were forgotten). */
export function kernelSymbols(): Kallsyms {
  if (!shared) {
    shared = new Kallsyms(Deno.readFileSync("/proc/kallsyms"));
    readSinceTidy = true;
  }
  lastUse = performance.now();
  return shared;
}

/** `func+0xoff` for a code address of the running kernel: remembered for the run, the table read when it is new. */
export function resolveCodeAddress(addr: bigint): string {
  let text = resolved.get(addr);
  if (text === undefined) {
    text = kernelSymbols().resolve(addr);
    if (resolved.size < MAX_RESOLVED) resolved.set(addr, text);
  }
  return text;
}

/**
 * Forgets the table when it was not used for KEEP_UNUSED_MS before nowMs (performance.now()). Says what left garbage
 * since the last call, for the caller to collect (the next collection may be minutes away in an idle run): "read"
 * (the file's bytes, young), "forgotten" (the table, old), or undefined.
 */
export function tidyKernelSymbols(nowMs: number): "read" | "forgotten" | undefined {
  const forget = shared !== undefined && nowMs - lastUse >= KEEP_UNUSED_MS;
  if (forget) shared = undefined;
  const garbage = forget ? "forgotten" : readSinceTidy ? "read" : undefined;
  readSinceTidy = false;
  return garbage;
}
