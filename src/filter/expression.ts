/**
 * A tcpdump filter expression (-e/--filter-expr, or the words after the
 * options), compiled by libpcap for the two kinds of points nettrace traces:
 * those where the skb has an Ethernet header (DLT_EN10MB) and those where it
 * has only its network header (DLT_RAW), each translated to the eBPF of one
 * filter region (src/bpf/pcap_region.ts).
 * @module
 */
import { type ClassicInsn, compileExpression, LibpcapMissing, libpcapVersion } from "../../lib/ffi/libpcap.ts";
import { HostError, UsageError } from "../errors.ts";
import { matchNothing, REGION_INSNS, translateClassic, TranslateError } from "./cbpf_to_ebpf.ts";

export const DLT_EN10MB = 1;
export const DLT_RAW = 12;

/** The expression and the code of each region. */
export interface FilterExpression {
  readonly text: string;
  /** the translation for points with a MAC header, regionInsns instructions */
  readonly l2: Uint8Array;
  /** for points with only a network header */
  readonly l3: Uint8Array;
}

function classic(text: string, linkType: number): readonly ClassicInsn[] | string {
  try {
    const r = compileExpression(text, linkType);
    return "error" in r ? r.error : r.insns;
  } catch (e) {
    if (e instanceof LibpcapMissing) throw new HostError(e.message);
    throw e;
  }
}

/**
 * Compiles and translates text; a bad expression is a UsageError with
 * libpcap's message. An expression that only an Ethernet header can satisfy
 * ("ether host ...", "arp", "vlan") matches nothing where there is none.
 */
export function compileFilterExpression(text: string, regionInsns = REGION_INSNS): FilterExpression {
  if (!text.trim()) throw new UsageError("the filter expression is empty");
  const l2 = classic(text, DLT_EN10MB);
  if (typeof l2 === "string") throw new UsageError(`filter expression '${text}': ${l2}`);
  const l3 = classic(text, DLT_RAW);
  try {
    return {
      text,
      l2: translateClassic(l2, regionInsns),
      l3: typeof l3 === "string" ? matchNothing(regionInsns) : translateClassic(l3, regionInsns),
    };
  } catch (e) {
    if (e instanceof TranslateError) throw new UsageError(`filter expression '${text}': ${e.message}`);
    throw e;
  }
}

/** libpcap's version string, or why filter expressions cannot be compiled on this host. */
export function libpcapHere(): { version: string } | { missing: string } {
  try {
    return { version: libpcapVersion() };
  } catch (e) {
    if (e instanceof LibpcapMissing) return { missing: e.message };
    throw e;
  }
}
