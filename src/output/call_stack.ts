/**
 * A kernel stack under its event, as the C nettrace prints it:
 *
 *     Call Stack:
 *         -> icmp_rcv+0x1
 *         -> ip_local_deliver_finish+0x7f
 *
 * Pure.
 * @module
 */

/** The stack's lines: the "Call Stack:" header, then one "    -> frame" per frame, innermost first. */
export function formatCallStack(frames: readonly string[]): string {
  return ["Call Stack:", ...frames.map((f) => `    -> ${f}`)].join("\n");
}
