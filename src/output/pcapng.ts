/**
 * pcapng blocks (draft-ietf-opsawg-pcapng), little-endian: the section
 * header, an interface description per capture interface (nanosecond
 * timestamps), and an enhanced packet block per packet with its comment.
 * Pure: each function returns the block's bytes.
 * @module
 */

const BLOCK_SHB = 0x0a0d0d0a;
const BLOCK_IDB = 0x00000001;
const BLOCK_EPB = 0x00000006;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;

const OPT_END = 0;
const OPT_COMMENT = 1;
const SHB_HARDWARE = 2;
const SHB_OS = 3;
const SHB_USERAPPL = 4;
const IF_NAME = 2;
const IF_DESCRIPTION = 3;
const IF_TSRESOL = 9;

const encoder = new TextEncoder();

/** An option: code, length, value padded to 4 bytes. */
type Option = [code: number, value: Uint8Array];

function pad4(n: number): number {
  return (n + 3) & ~3;
}

function optionsLength(opts: Option[]): number {
  if (opts.length === 0) return 0;
  return opts.reduce((n, [, v]) => n + 4 + pad4(v.length), 0) + 4;
}

function text(code: number, s: string): Option {
  return [code, encoder.encode(s)];
}

/** A block: type, total length, body, options, total length. */
function block(type: number, body: Uint8Array, opts: Option[]): Uint8Array {
  const total = 12 + pad4(body.length) + optionsLength(opts);
  const out = new Uint8Array(total);
  const v = new DataView(out.buffer);
  v.setUint32(0, type, true);
  v.setUint32(4, total, true);
  out.set(body, 8);
  let at = 8 + pad4(body.length);
  if (opts.length) {
    for (const [code, value] of opts) {
      v.setUint16(at, code, true);
      v.setUint16(at + 2, value.length, true);
      out.set(value, at + 4);
      at += 4 + pad4(value.length);
    }
    v.setUint16(at, OPT_END, true);
    v.setUint16(at + 2, 0, true);
    at += 4;
  }
  v.setUint32(at, total, true);
  return out;
}

/** What wrote the file and where: the section header's options. */
export interface SectionInfo {
  application: string;
  os: string;
  hardware?: string;
}

/** The section header block: byte order, version 1.0, section length unknown. */
export function sectionHeaderBlock(info: SectionInfo): Uint8Array {
  const body = new Uint8Array(16);
  const v = new DataView(body.buffer);
  v.setUint32(0, BYTE_ORDER_MAGIC, true);
  v.setUint16(4, 1, true);
  v.setUint16(6, 0, true);
  v.setBigInt64(8, -1n, true);
  const opts: Option[] = [];
  if (info.hardware) opts.push(text(SHB_HARDWARE, info.hardware));
  opts.push(text(SHB_OS, info.os), text(SHB_USERAPPL, info.application));
  return block(BLOCK_SHB, body, opts);
}

/** One capture interface. */
export interface InterfaceInfo {
  /** pcap LINKTYPE_* */
  linkType: number;
  snaplen: number;
  name: string;
  description?: string;
}

/** An interface description block, timestamps in nanoseconds. */
export function interfaceBlock(i: InterfaceInfo): Uint8Array {
  const body = new Uint8Array(8);
  const v = new DataView(body.buffer);
  v.setUint16(0, i.linkType, true);
  v.setUint32(4, i.snaplen, true);
  const opts: Option[] = [text(IF_NAME, i.name)];
  if (i.description) opts.push(text(IF_DESCRIPTION, i.description));
  opts.push([IF_TSRESOL, new Uint8Array([9])]);
  return block(BLOCK_IDB, body, opts);
}

/** One packet. */
export interface PacketRecord {
  /** index of its interface block in the section */
  interfaceId: number;
  /** wall-clock nanoseconds since the epoch */
  timeNs: bigint;
  data: Uint8Array;
  /** the packet's length on the wire (at least data's) */
  origLen: number;
  comment?: string;
}

/** An enhanced packet block. */
export function packetBlock(p: PacketRecord): Uint8Array {
  const body = new Uint8Array(20 + p.data.length);
  const v = new DataView(body.buffer);
  v.setUint32(0, p.interfaceId, true);
  v.setUint32(4, Number(p.timeNs >> 32n), true);
  v.setUint32(8, Number(p.timeNs & 0xffffffffn), true);
  v.setUint32(12, p.data.length, true);
  v.setUint32(16, Math.max(p.origLen, p.data.length), true);
  body.set(p.data, 20);
  return block(BLOCK_EPB, body, p.comment ? [text(OPT_COMMENT, p.comment)] : []);
}
