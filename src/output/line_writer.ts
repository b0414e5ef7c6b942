/**
 * Buffered line output to stdout: the event path appends lines and flushes
 * once per ring buffer drain, so a drop storm costs one write per batch.
 * @module
 */

const encoder = new TextEncoder();
/** Lines kept before a write even in the middle of a drain: bounds memory in a storm. */
const MAX_PENDING = 4096;

/** Collects lines and writes them in one go. */
export class LineWriter {
  #lines: string[] = [];
  #broken = false;

  constructor(private out: { writeSync(p: Uint8Array): number } = Deno.stdout) {}

  /** Queues one line (without its newline). */
  push(line: string): void {
    this.#lines.push(line);
    if (this.#lines.length >= MAX_PENDING) this.flush();
  }

  /** Writes what is queued. Returns false once stdout is gone (EPIPE): stop then. */
  flush(): boolean {
    if (this.#lines.length === 0 || this.#broken) return !this.#broken;
    let data = encoder.encode(this.#lines.join("\n") + "\n");
    this.#lines = [];
    try {
      while (data.length > 0) data = data.subarray(this.out.writeSync(data));
    } catch (e) {
      if (e instanceof Deno.errors.BrokenPipe) {
        this.#broken = true;
        return false;
      }
      throw e;
    }
    return true;
  }
}
