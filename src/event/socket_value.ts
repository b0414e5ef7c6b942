/**
 * What a socket point's value means: the state a socket enters
 * (sock:inet_sock_set_state's newstate, tcp_set_state's argument), or the
 * bytes a send or receive moved (sock:sock_send_length's ret, tcp_sendmsg's
 * size), negative for an error. Pure.
 * @module
 */
import { pointValue, type SocketEvent } from "./decode.ts";

/** A socket event's value, as shown. */
export type SocketValue = { is: "state"; state: number } | { is: "bytes"; bytes: number };

/** How a point's value is read: its field's size and sign (functions: 8 bytes, signed), and what it is. */
export interface SocketValueSpec {
  size: number;
  signed: boolean;
  is: SocketValue["is"];
}

/** The value of ev, read as spec says; undefined when the event carries none. */
export function socketValue(ev: SocketEvent, spec: SocketValueSpec | undefined): SocketValue | undefined {
  if (ev.rawValue === undefined || !spec) return undefined;
  const v = pointValue(ev.rawValue, spec);
  return spec.is === "state" ? { is: "state", state: v } : { is: "bytes", bytes: v };
}

/** Names of the errors a send or receive returns most often (negative errno). */
export const SOCKET_ERRNO: ReadonlyMap<number, string> = new Map([
  [4, "EINTR"],
  [11, "EAGAIN"],
  [32, "EPIPE"],
  [90, "EMSGSIZE"],
  [104, "ECONNRESET"],
  [105, "ENOBUFS"],
  [107, "ENOTCONN"],
  [110, "ETIMEDOUT"],
  [111, "ECONNREFUSED"],
  [113, "EHOSTUNREACH"],
]);
