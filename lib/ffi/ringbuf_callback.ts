/**
 * Ring buffer reader that lets libbpf (ring_buffer__consume) walk the ring
 * and call back into TypeScript for each record.
 * @module
 */
import { checkPtr, libbpf } from "./libbpf.ts";
import { EpollWaiter } from "./libc.ts";
import type { RecordHandler, RingReader } from "./ring_records.ts";

const SAMPLE_FN = { parameters: ["pointer", "pointer", "usize"], result: "i32" } as const;

/** Reads records through libbpf's ring_buffer API. */
export class CallbackRingReader implements RingReader {
  #rb: Deno.PointerObject | null;
  #cb: Deno.UnsafeCallback<typeof SAMPLE_FN>;
  #epoll: EpollWaiter;

  constructor(fd: number, onRecord: RecordHandler) {
    this.#cb = new Deno.UnsafeCallback(
      SAMPLE_FN,
      (_ctx, data, size) => {
        const n = Number(size);
        if (data) onRecord(new DataView(Deno.UnsafePointerView.getArrayBuffer(data, n)), 0, n);
        return 0;
      },
    );
    this.#rb = checkPtr("ring_buffer__new", libbpf().ring_buffer__new(fd, this.#cb.pointer, null, null));
    this.#epoll = new EpollWaiter(libbpf().ring_buffer__epoll_fd(this.#rb));
  }

  async wait(timeoutMs: number): Promise<void> {
    await this.#epoll.wait(timeoutMs);
  }

  drain(): number {
    if (!this.#rb) return 0;
    const n = libbpf().ring_buffer__consume(this.#rb);
    return n < 0 ? 0 : n;
  }

  close(): void {
    this.#epoll.close();
    if (this.#rb) libbpf().ring_buffer__free(this.#rb);
    this.#rb = null;
    this.#cb.close();
  }
}
