/**
 * Buffered line output to stdout: the event path appends lines and flushes
 * once per ring buffer drain, so a drop storm costs one write per batch. Each
 * line is encoded into the buffer as it comes, so its string dies young: kept
 * as strings until the drain's end, a storm's lines lived through V8's young
 * collections into the old generation, which grew by tens of megabytes
 * before a full collection freed them.
 * @module
 */

const encoder = new TextEncoder();
/** Bytes of lines kept before a write, even in the middle of a drain. */
const BUFFER_BYTES = 256 * 1024;

/** Collects lines and writes them in one go. */
export class LineWriter {
  readonly #buffer = new Uint8Array(BUFFER_BYTES);
  #used = 0;
  #broken = false;

  constructor(private out: { writeSync(p: Uint8Array): number } = Deno.stdout) {}

  /** Queues one line (without its newline). */
  push(line: string): void {
    // a UTF-16 unit takes at most 3 bytes of UTF-8, and the newline one
    const most = line.length * 3 + 1;
    if (this.#used + most > BUFFER_BYTES && !this.flush()) return;
    if (most > BUFFER_BYTES) {
      this.#write(encoder.encode(`${line}\n`));
      return;
    }
    this.#used += encoder.encodeInto(line, this.#buffer.subarray(this.#used)).written;
    this.#buffer[this.#used++] = 0x0a;
  }

  /** Writes what is queued. Returns false once stdout is gone (EPIPE): stop then. */
  flush(): boolean {
    if (this.#used === 0 || this.#broken) return !this.#broken;
    const data = this.#buffer.subarray(0, this.#used);
    this.#used = 0;
    return this.#write(data);
  }

  #write(data: Uint8Array): boolean {
    if (this.#broken) return false;
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
