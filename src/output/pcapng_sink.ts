/**
 * -w FILE: the packets nettrace shows, written as pcapng. One section per
 * run (a file that already holds some gets another section after them), one
 * interface block per device, netns and link type as packets first come
 * through them, one packet block per packet with its comment. Blocks are
 * copied into a buffer as they come (a block dies young, as the text lines
 * do: line_writer.ts) and written once per drain or when it fills.
 * @module
 */
import type { PacketBytes } from "../event/capture.ts";
import { interfaceBlock, packetBlock, sectionHeaderBlock, type SectionInfo } from "./pcapng.ts";
import { OutputFile } from "../runtime/output_file.ts";
import { VERSION } from "../version.ts";

/** Where a packet was: its interface block is one per distinct value. */
export interface CaptureInterface {
  netns: number;
  ifindex: number;
  /** the device's name, escaped; empty when the skb had none */
  ifname: string;
}

/** Bytes queued before a write even in the middle of a drain. */
const BUFFER_BYTES = 256 * 1024;

/** Packets to a pcapng file. */
export class PcapngSink {
  readonly #ids = new Map<string, number>();
  readonly #buffer = new Uint8Array(BUFFER_BYTES);
  #used = 0;
  #packets = 0;

  constructor(
    private out: { writeSync(p: Uint8Array): number; close?(): void },
    info: SectionInfo,
    readonly snaplen: number,
  ) {
    this.#queue(sectionHeaderBlock(info));
  }

  /**
   * -w FILE for this run: opened as -o's file is (0600, never through a symbolic link, appended to: a new section);
   * a path nettrace may not write is bad input, found before anything is loaded.
   */
  static open(path: string, snaplen: number): PcapngSink {
    const file = OutputFile.open(path, false, undefined, "-w");
    return new PcapngSink(file, { application: `nettrace ${VERSION}`, os: `Linux ${Deno.osRelease()}` }, snaplen);
  }

  /** Writes what is queued and closes the file: the last packets reach it however the run ends. */
  close(): void {
    this.flush();
    this.out.close?.();
  }

  /** Packets written (or queued) so far. */
  get packets(): number {
    return this.#packets;
  }

  /** Queues one packet: timeNs on the wall clock, comment as Wireshark shows it. */
  packet(where: CaptureInterface, timeNs: bigint, bytes: PacketBytes, comment: string): void {
    const key = `${where.netns}/${where.ifindex}/${bytes.link}`;
    let id = this.#ids.get(key);
    if (id === undefined) {
      id = this.#ids.size;
      this.#ids.set(key, id);
      this.#queue(interfaceBlock({
        linkType: bytes.link,
        snaplen: this.snaplen,
        name: where.ifname || (where.ifindex ? `ifindex ${where.ifindex}` : "(no device)"),
        description: `ifindex ${where.ifindex} in netns ${where.netns}`,
      }));
    }
    this.#queue(packetBlock({ interfaceId: id, timeNs, data: bytes.data, origLen: bytes.origLen, comment }));
    this.#packets++;
  }

  #queue(b: Uint8Array): void {
    if (this.#used + b.length > BUFFER_BYTES) this.flush();
    if (b.length > BUFFER_BYTES) {
      this.#write(b);
      return;
    }
    this.#buffer.set(b, this.#used);
    this.#used += b.length;
  }

  /** Writes what is queued. */
  flush(): void {
    if (this.#used === 0) return;
    const data = this.#buffer.subarray(0, this.#used);
    this.#used = 0;
    this.#write(data);
  }

  #write(data: Uint8Array): void {
    while (data.length > 0) data = data.subarray(this.out.writeSync(data));
  }
}
