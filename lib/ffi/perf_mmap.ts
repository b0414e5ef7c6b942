/**
 * Perf buffer reader that opens one perf event per CPU itself
 * (PERF_COUNT_SW_BPF_OUTPUT), puts their fds into the BPF perf event array,
 * maps each CPU's ring and walks the records from TypeScript: no callback
 * into TypeScript per sample. A ring's layout: a header page
 * (struct perf_event_mmap_page: data_head, data_tail), then the data area,
 * where a record can wrap around the end.
 * @module
 */
import { checkInt, libbpf } from "./libbpf.ts";
import { closeFd, EpollWaiter, errnoText, ioctl, mmapShared, munmap, pageSize, perfEventOpen } from "./libc.ts";
import type { RecordHandler, RingReader } from "./ring_records.ts";

const PERF_TYPE_SOFTWARE = 1;
const PERF_COUNT_SW_BPF_OUTPUT = 10;
const PERF_SAMPLE_RAW = 1 << 10;
const PERF_EVENT_IOC_ENABLE = 0x2400;
const PERF_RECORD_LOST = 2;
const PERF_RECORD_SAMPLE = 9;
const ATTR_SIZE = 112; // PERF_ATTR_SIZE_VER5
const DATA_HEAD = 1024; // offsets in struct perf_event_mmap_page
const DATA_TAIL = 1032;
const ENODEV = 19;

/** One CPU's ring. */
interface CpuRing {
  fd: number;
  ptr: Deno.PointerObject;
  header: DataView;
  data: DataView;
}

/**
 * The attributes of a BPF output event: every bpf_perf_event_output is one raw sample. The kernel wakes the
 * reader when a quarter of the ring is filled (not at every sample, which costs the sending CPU an interrupt
 * per event in a storm); the reader drains on its own poll interval too, so a lone event is not held back.
 */
function outputEventAttr(dataSize: number): Uint8Array<ArrayBuffer> {
  const attr = new Uint8Array(ATTR_SIZE);
  const v = new DataView(attr.buffer);
  v.setUint32(0, PERF_TYPE_SOFTWARE, true); // type
  v.setUint32(4, ATTR_SIZE, true); // size
  v.setBigUint64(8, BigInt(PERF_COUNT_SW_BPF_OUTPUT), true); // config
  v.setBigUint64(16, 1n, true); // sample_period
  v.setBigUint64(24, BigInt(PERF_SAMPLE_RAW), true); // sample_type
  v.setBigUint64(40, 1n << 14n, true); // flags: watermark
  v.setUint32(48, Math.max(1, dataSize >> 2), true); // wakeup_watermark, in bytes
  return attr;
}

/** Reads the samples of every CPU's mapped ring. */
export class MmapPerfReader implements RingReader {
  #rings: CpuRing[] = [];
  #mapLength: number;
  #dataSize: number;
  #epoll: EpollWaiter | undefined;
  #onRecord: RecordHandler;
  #scratch = new Uint8Array(0);
  /** Samples the kernel reported lost (PERF_RECORD_LOST), over all CPUs. */
  kernelLost = 0;

  /** mapFd: the BPF_MAP_TYPE_PERF_EVENT_ARRAY; pagesPerCpu: each ring's data in pages, a power of two. */
  constructor(mapFd: number, pagesPerCpu: number, onRecord: RecordHandler) {
    const page = pageSize();
    this.#dataSize = pagesPerCpu * page;
    this.#mapLength = page + this.#dataSize;
    this.#onRecord = onRecord;
    const attr = outputEventAttr(this.#dataSize);
    const key = new Uint32Array(1), value = new Uint32Array(1);
    try {
      for (let cpu = 0; cpu < libbpf().libbpf_num_possible_cpus(); cpu++) {
        const fd = perfEventOpen(attr, -1, cpu);
        if (fd === -ENODEV) continue; // a possible CPU that is not online
        if (fd < 0) throw new Error(`perf_event_open (BPF output, CPU ${cpu}): ${errnoText(-fd)}`);
        let ptr: Deno.PointerObject;
        try {
          ptr = mmapShared(fd, this.#mapLength, 0, true);
        } catch (e) {
          closeFd(fd);
          throw e;
        }
        this.#rings.push({
          fd,
          ptr,
          header: new DataView(Deno.UnsafePointerView.getArrayBuffer(ptr, page)),
          data: new DataView(Deno.UnsafePointerView.getArrayBuffer(ptr, this.#dataSize, page)),
        });
        const err = ioctl(fd, PERF_EVENT_IOC_ENABLE, 0);
        if (err < 0) throw new Error(`enabling the perf event of CPU ${cpu}: ${errnoText(-err)}`);
        key[0] = cpu;
        value[0] = fd;
        checkInt("bpf_map_update_elem", libbpf().bpf_map_update_elem(mapFd, key, value, 0n));
      }
      this.#epoll = new EpollWaiter(this.#rings.map((r) => r.fd));
    } catch (e) {
      this.close();
      throw e;
    }
  }

  async wait(timeoutMs: number): Promise<void> {
    if (this.#rings.some((r) => r.header.getBigUint64(DATA_HEAD, true) !== r.header.getBigUint64(DATA_TAIL, true))) {
      return;
    }
    await this.#epoll?.wait(timeoutMs);
  }

  drain(): number {
    let n = 0;
    const mask = this.#dataSize - 1;
    for (const r of this.#rings) {
      const head = Number(r.header.getBigUint64(DATA_HEAD, true));
      let tail = Number(r.header.getBigUint64(DATA_TAIL, true));
      while (tail < head) {
        const off = tail & mask;
        const size = r.data.getUint16(off + 6, true);
        let view = r.data, at = off;
        if (off + size > this.#dataSize) {
          // the record wraps around the end of the ring: read a copy of it
          view = this.#unwrapped(r.data, off, size);
          at = 0;
        }
        const type = view.getUint32(at, true);
        if (type === PERF_RECORD_SAMPLE) {
          this.#onRecord(view, at + 12, view.getUint32(at + 8, true));
          n++;
        } else if (type === PERF_RECORD_LOST) {
          this.kernelLost += Number(view.getBigUint64(at + 16, true));
        }
        tail += size;
      }
      r.header.setBigUint64(DATA_TAIL, BigInt(tail), true);
    }
    return n;
  }

  /** A record that wraps, copied into one piece. */
  #unwrapped(data: DataView, off: number, size: number): DataView {
    if (this.#scratch.length < size) this.#scratch = new Uint8Array(size);
    const bytes = new Uint8Array(data.buffer, data.byteOffset, this.#dataSize);
    const first = this.#dataSize - off;
    this.#scratch.set(bytes.subarray(off), 0);
    this.#scratch.set(bytes.subarray(0, size - first), first);
    return new DataView(this.#scratch.buffer, 0, size);
  }

  close(): void {
    this.#epoll?.close();
    this.#epoll = undefined;
    for (const r of this.#rings) {
      munmap(r.ptr, this.#mapLength);
      closeFd(r.fd);
    }
    this.#rings = [];
  }
}
