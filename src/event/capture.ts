/**
 * The bytes of a packet that came with its event (-w): struct nt_capture
 * after the struct nt_event in the same record. Pure.
 * @module
 */
import { CAPTURE, EVENT } from "./layout.ts";

/** pcap link types of the bytes: where they start. */
export const LINK = { ethernet: 1, raw: 101 } as const;

/** A packet's bytes as the kernel copied them. */
export interface PacketBytes {
  /** LINK.ethernet: from the MAC header; LINK.raw: from the IPv4 or IPv6 header */
  readonly link: number;
  /** the packet's length from where the bytes start */
  readonly origLen: number;
  /** caplen bytes (a copy: the ring's memory is reused) */
  readonly data: Uint8Array;
}

/** The bytes after the event at view[off] in a record of size bytes; undefined when it has none. */
export function decodeCapture(view: DataView, off: number, size: number): PacketBytes | undefined {
  if (size < EVENT.size + CAPTURE.data) return undefined;
  const at = off + EVENT.size;
  const link = view.getUint8(at + CAPTURE.link);
  const caplen = view.getUint16(at + CAPTURE.caplen, true);
  if (link === 0 || caplen === 0) return undefined;
  if (size < EVENT.size + CAPTURE.data + caplen) {
    throw new Error(`capture of ${caplen} bytes in a record of ${size}`);
  }
  const start = view.byteOffset + at + CAPTURE.data;
  return {
    link,
    origLen: view.getUint32(at + CAPTURE.origlen, true),
    data: new Uint8Array(view.buffer, start, caplen).slice(),
  };
}
