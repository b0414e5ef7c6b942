/**
 * Reads a pcapng file back, independently of the writer: every section,
 * its interfaces (link type, snaplen, name, description, time resolution)
 * and its enhanced packet blocks (interface, time, bytes, lengths, comments).
 * Little-endian sections only, which is what nettrace writes.
 */

export interface ReadInterface {
  linkType: number;
  snaplen: number;
  name?: string;
  description?: string;
  tsresol?: number;
}

export interface ReadPacket {
  section: number;
  interfaceId: number;
  /** in the interface's time unit */
  time: bigint;
  data: Uint8Array;
  origLen: number;
  comments: string[];
}

export interface ReadSection {
  application?: string;
  os?: string;
  interfaces: ReadInterface[];
}

const decoder = new TextDecoder("utf-8", { fatal: true });

function options(b: Uint8Array, at: number, end: number): Array<[number, Uint8Array]> {
  const v = new DataView(b.buffer, b.byteOffset);
  const out: Array<[number, Uint8Array]> = [];
  while (at + 4 <= end) {
    const code = v.getUint16(at, true), len = v.getUint16(at + 2, true);
    if (code === 0) break;
    out.push([code, b.subarray(at + 4, at + 4 + len)]);
    at += 4 + ((len + 3) & ~3);
  }
  return out;
}

/** The sections and packets of a pcapng file; throws on anything malformed. */
export function readPcapng(bytes: Uint8Array): { sections: ReadSection[]; packets: ReadPacket[] } {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const sections: ReadSection[] = [];
  const packets: ReadPacket[] = [];
  let at = 0;
  while (at < bytes.length) {
    if (at + 12 > bytes.length) throw new Error(`truncated block at ${at}`);
    const type = v.getUint32(at, true), len = v.getUint32(at + 4, true);
    if (len < 12 || len % 4 || at + len > bytes.length) throw new Error(`bad block length ${len} at ${at}`);
    if (v.getUint32(at + len - 4, true) !== len) throw new Error(`trailing length differs at ${at}`);
    const end = at + len - 4;
    if (type === 0x0a0d0d0a) {
      if (v.getUint32(at + 8, true) !== 0x1a2b3c4d) throw new Error("not a little-endian section");
      if (v.getUint16(at + 12, true) !== 1) throw new Error("not pcapng 1.x");
      const s: ReadSection = { interfaces: [] };
      for (const [code, val] of options(bytes, at + 24, end)) {
        if (code === 3) s.os = decoder.decode(val);
        if (code === 4) s.application = decoder.decode(val);
      }
      sections.push(s);
    } else if (type === 1) {
      const s = sections.at(-1);
      if (!s) throw new Error("interface block before a section header");
      const i: ReadInterface = { linkType: v.getUint16(at + 8, true), snaplen: v.getUint32(at + 12, true) };
      for (const [code, val] of options(bytes, at + 16, end)) {
        if (code === 2) i.name = decoder.decode(val);
        if (code === 3) i.description = decoder.decode(val);
        if (code === 9) i.tsresol = val[0];
      }
      s.interfaces.push(i);
    } else if (type === 6) {
      const s = sections.at(-1);
      if (!s) throw new Error("packet block before a section header");
      const interfaceId = v.getUint32(at + 8, true);
      if (interfaceId >= s.interfaces.length) throw new Error(`packet of interface ${interfaceId}, not described`);
      const time = (BigInt(v.getUint32(at + 12, true)) << 32n) | BigInt(v.getUint32(at + 16, true));
      const caplen = v.getUint32(at + 20, true), origLen = v.getUint32(at + 24, true);
      const data = bytes.slice(at + 28, at + 28 + caplen);
      const comments = options(bytes, at + 28 + ((caplen + 3) & ~3), end)
        .filter(([code]) => code === 1).map(([, val]) => decoder.decode(val));
      packets.push({ section: sections.length - 1, interfaceId, time, data, origLen, comments });
    } else {
      throw new Error(`unexpected block type 0x${type.toString(16)} at ${at}`);
    }
    at += len;
  }
  return { sections, packets };
}
