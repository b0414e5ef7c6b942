/**
 * Ring buffer reader that maps the BPF ring buffer into this process and
 * walks it from TypeScript (the kernel's layout: a consumer page, a producer
 * page, then the data area mapped twice so a record never wraps).
 * @module
 */
import { EpollWaiter, mmapShared, munmap, pageSize } from "./libc.ts";
import type { RecordHandler, RingReader } from "./ring_records.ts";

const BUSY = 0x80000000; // BPF_RINGBUF_BUSY_BIT: reserved, not yet committed
const DISCARD = 0x40000000; // BPF_RINGBUF_DISCARD_BIT
const LEN_MASK = 0x3fffffff;
const HDR = 8; // BPF_RINGBUF_HDR_SZ
const RELEASE_EVERY = 64; // records between consumer position updates in one drain

/** Reads records straight out of the shared ring. */
export class MmapRingReader implements RingReader {
  #page = pageSize();
  #size: number;
  #mask: number;
  #consPtr: Deno.PointerObject | null;
  #dataPtr: Deno.PointerObject | null;
  #cons: DataView;
  #data: DataView;
  #epoll: EpollWaiter;
  #onRecord: RecordHandler;

  constructor(fd: number, size: number, onRecord: RecordHandler) {
    if (size <= 0 || (size & (size - 1)) !== 0) throw new Error(`ring size ${size} is not a power of two`);
    this.#size = size;
    this.#mask = size - 1;
    this.#onRecord = onRecord;
    this.#consPtr = mmapShared(fd, this.#page, 0, true);
    this.#dataPtr = mmapShared(fd, this.#page + 2 * size, this.#page, false);
    this.#cons = new DataView(Deno.UnsafePointerView.getArrayBuffer(this.#consPtr, this.#page));
    this.#data = new DataView(Deno.UnsafePointerView.getArrayBuffer(this.#dataPtr, this.#page + 2 * size));
    this.#epoll = new EpollWaiter(fd);
  }

  async wait(timeoutMs: number): Promise<void> {
    // epoll only wakes for new data after the consumer caught up; check first.
    if (this.#pending()) return;
    await this.#epoll.wait(timeoutMs);
  }

  #pending(): boolean {
    return this.#data.getBigUint64(0, true) !== this.#cons.getBigUint64(0, true);
  }

  drain(): number {
    const data = this.#data;
    const base = this.#page;
    let cons = Number(this.#cons.getBigUint64(0, true));
    let prod = Number(data.getBigUint64(0, true));
    let n = 0;
    while (cons < prod) {
      const off = base + (cons & this.#mask);
      const hdr = data.getUint32(off, true);
      if (hdr & BUSY) break;
      const len = hdr & LEN_MASK;
      if (!(hdr & DISCARD)) {
        this.#onRecord(data, off + HDR, len);
        n++;
      }
      cons += (len + HDR + 7) & ~7;
      if (n % RELEASE_EVERY === 0) {
        this.#cons.setBigUint64(0, BigInt(cons), true);
        prod = Number(data.getBigUint64(0, true));
      }
    }
    this.#cons.setBigUint64(0, BigInt(cons), true);
    return n;
  }

  close(): void {
    this.#epoll.close();
    if (this.#dataPtr) munmap(this.#dataPtr, this.#page + 2 * this.#size);
    if (this.#consPtr) munmap(this.#consPtr, this.#page);
    this.#dataPtr = this.#consPtr = null;
  }
}
