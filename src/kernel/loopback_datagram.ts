/**
 * A UDP datagram nettrace sends to itself over loopback, to a port nobody
 * listens on: it passes the IPv4 receive path and is dropped there (NO_SOCKET),
 * so a probe on a receive function or on kfree_skb can be shown to fire.
 * @module
 */

/** A loopback UDP port that nothing listens on right now. */
export function closedLoopbackPort(): number {
  const s = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  const port = (s.addr as Deno.NetAddr).port;
  s.close();
  return port;
}

/** Sends one datagram to 127.0.0.1:port; rejects when loopback is down. */
export async function sendLoopbackDatagram(port: number): Promise<void> {
  const s = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  try {
    await s.send(new TextEncoder().encode("nettrace probe"), { transport: "udp", hostname: "127.0.0.1", port });
  } finally {
    s.close();
  }
}
