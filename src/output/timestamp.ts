/**
 * Event timestamps: seconds since boot (`[3867.337581]`, the clock of
 * bpf_ktime_get_ns) or, with --date, local wall-clock time.
 * @module
 */
/** Formats kernel timestamps; create once per run. */
export class TimestampFormatter {
  /** wall-clock ns minus monotonic ns, measured at creation */
  readonly #wallOffsetNs: number;

  /** wallOffsetNs: wall-clock minus monotonic time (src/runtime/clock.ts), used with --date */
  constructor(readonly date: boolean, wallOffsetNs: number) {
    this.#wallOffsetNs = wallOffsetNs;
  }

  /** "3867.337581", or "2026-11-23 07:40:00.123456" with --date. */
  format(tsNs: number): string {
    const us = Math.floor(tsNs / 1000);
    if (!this.date) {
      const s = Math.floor(us / 1e6);
      return `${s}.${String(us - s * 1e6).padStart(6, "0")}`;
    }
    const wallUs = Math.floor((tsNs + this.#wallOffsetNs) / 1000);
    const d = new Date(Math.floor(wallUs / 1000));
    const p2 = (n: number) => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${p2(d.getMonth() + 1)}-${p2(d.getDate())} ` +
      `${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())}.${String(wallUs % 1e6).padStart(6, "0")}`;
  }
}
