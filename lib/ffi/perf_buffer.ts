/**
 * Reader of a per-CPU perf buffer (BPF_MAP_TYPE_PERF_EVENT_ARRAY), the event
 * transport of kernels without the BPF ring buffer (before 5.8): libbpf
 * (perf_buffer__consume) walks every CPU's ring and calls back into
 * TypeScript for each sample. Samples the kernel could not store are counted
 * by the BPF programs (NT_STAT_LOST), as with the ring buffer; the kernel's
 * own lost-sample records are counted here too.
 * @module
 */
import { checkPtr, libbpf } from "./libbpf.ts";
import { EpollWaiter } from "./libc.ts";
import type { RecordHandler, RingReader } from "./ring_records.ts";

// void (*perf_buffer_sample_fn)(void *ctx, int cpu, void *data, __u32 size)
const SAMPLE_FN = { parameters: ["pointer", "i32", "pointer", "u32"], result: "void" } as const;
// void (*perf_buffer_lost_fn)(void *ctx, int cpu, __u64 cnt)
const LOST_FN = { parameters: ["pointer", "i32", "u64"], result: "void" } as const;

/** Reads samples through libbpf's perf_buffer API. */
export class PerfBufferReader implements RingReader {
  #pb: Deno.PointerObject | null;
  #sample: Deno.UnsafeCallback<typeof SAMPLE_FN>;
  #lost: Deno.UnsafeCallback<typeof LOST_FN>;
  #epoll: EpollWaiter;
  #count = 0;
  /** Samples the kernel reported lost (PERF_RECORD_LOST), over all CPUs. */
  kernelLost = 0;

  /** pagesPerCpu: each CPU's ring in pages, a power of two. */
  constructor(fd: number, pagesPerCpu: number, onRecord: RecordHandler) {
    this.#sample = new Deno.UnsafeCallback(SAMPLE_FN, (_ctx, _cpu, data, size) => {
      this.#count++;
      if (data) onRecord(new DataView(Deno.UnsafePointerView.getArrayBuffer(data, size)), 0, size);
    });
    this.#lost = new Deno.UnsafeCallback(LOST_FN, (_ctx, _cpu, cnt) => {
      this.kernelLost += Number(cnt);
    });
    this.#pb = checkPtr(
      "perf_buffer__new",
      libbpf().perf_buffer__new(fd, BigInt(pagesPerCpu), this.#sample.pointer, this.#lost.pointer, null, null),
    );
    this.#epoll = new EpollWaiter(libbpf().perf_buffer__epoll_fd(this.#pb));
  }

  async wait(timeoutMs: number): Promise<void> {
    await this.#epoll.wait(timeoutMs);
  }

  drain(): number {
    if (!this.#pb) return 0;
    this.#count = 0;
    libbpf().perf_buffer__consume(this.#pb);
    return this.#count;
  }

  close(): void {
    this.#epoll.close();
    if (this.#pb) libbpf().perf_buffer__free(this.#pb);
    this.#pb = null;
    this.#sample.close();
    this.#lost.close();
  }
}
