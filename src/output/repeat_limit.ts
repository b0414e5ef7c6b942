/**
 * Repeats of the same finding held back in user space (--monitor's socket
 * events; its drops are held back in the kernel, storm_limit.h): each key
 * shows at most `perSecond` lines a second, the rest are counted and given
 * back once the key's second is over, as "... and N more like this in
 * 1.0 s". Pure: the clock is handed in.
 * @module
 */

/** A key's repeats held back during one window. */
export interface HeldRepeats {
  readonly key: string;
  readonly count: number;
  /** the window's length */
  readonly seconds: number;
}

interface Window {
  startMs: number;
  shown: number;
  held: number;
}

const WINDOW_MS = 1000;
/** keys kept at most: past it, the quietest window ends early (a storm of distinct keys stays bounded) */
const MAX_KEYS = 4096;

/** At most perSecond lines a second per key (0: no limit). */
export class RepeatLimit {
  readonly #windows = new Map<string, Window>();
  #held = 0;

  constructor(readonly perSecond: number) {}

  /** Keys remembered now (at most MAX_KEYS). */
  get size(): number {
    return this.#windows.size;
  }

  /** Repeats held back so far, in all. */
  get held(): number {
    return this.#held;
  }

  /** Whether a line of this key may be shown now; when not, it is counted. */
  allow(key: string, nowMs: number): boolean {
    if (!this.perSecond) return true;
    let w = this.#windows.get(key);
    if (w && nowMs - w.startMs >= WINDOW_MS && w.held === 0) {
      this.#windows.delete(key);
      w = undefined;
    }
    if (!w) {
      if (this.#windows.size >= MAX_KEYS) this.#evictOne();
      this.#windows.set(key, { startMs: nowMs, shown: 1, held: 0 });
      return true;
    }
    if (w.shown < this.perSecond) {
      w.shown++;
      return true;
    }
    w.held++;
    this.#held++;
    return false;
  }

  /** The held repeats of every window that is over (or all of them, at the end), and those windows gone. */
  take(nowMs: number, all = false): HeldRepeats[] {
    const out: HeldRepeats[] = [];
    for (const [key, w] of this.#windows) {
      const over = nowMs - w.startMs >= WINDOW_MS;
      if (!over && !all) continue;
      if (w.held) out.push({ key, count: w.held, seconds: Math.max(nowMs - w.startMs, 1) / 1000 });
      this.#windows.delete(key);
    }
    return out;
  }

  #evictOne(): void {
    // the oldest window without held repeats; none: the oldest (its count is lost to the bound, not to the total)
    for (const [key, w] of this.#windows) {
      if (w.held === 0) {
        this.#windows.delete(key);
        return;
      }
    }
    const first = this.#windows.keys().next().value;
    if (first !== undefined) this.#windows.delete(first);
  }
}
