/**
 * -w in the lifecycle mode: the bytes of each followed packet, copied by the
 * kernel with the event that opened its context, kept until the packet's
 * block is written (one pcapng packet per block, its path as the comment).
 * @module
 */
import type { PacketBytes } from "../event/capture.ts";
import type { KernelEvent } from "../event/decode.ts";
import type { LifeBlock } from "./context_tracker.ts";

/** Packets whose blocks never come (their context was lost) do not pile up: the oldest goes past this many. */
const MAX_KEPT = 65536;

/** Bytes by context, until their block. */
export class PacketBytesByContext {
  readonly #bytes = new Map<bigint, { event: KernelEvent; bytes: PacketBytes }>();

  /** Keeps the bytes the event that opened a context came with. */
  add(event: KernelEvent, bytes: PacketBytes): void {
    if (this.#bytes.size >= MAX_KEPT) this.#bytes.delete(this.#bytes.keys().next().value!);
    this.#bytes.set(event.ctxId, { event, bytes });
  }

  /** The bytes of a block's packet and the event they came with (forgotten here), if the kernel sent them. */
  take(block: LifeBlock): { event: KernelEvent; bytes: PacketBytes } | undefined {
    const opener = block.events.find((e) => e.opensContext) ?? block.events[0];
    if (!opener) return undefined;
    const kept = this.#bytes.get(opener.ctxId);
    this.#bytes.delete(opener.ctxId);
    return kept;
  }
}
