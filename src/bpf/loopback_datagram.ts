/**
 * A UDP datagram nettrace sends to itself over loopback, to a port nobody
 * listens on: it passes the IPv4 receive path and is dropped there (NO_SOCKET),
 * so a probe on a receive function or on kfree_skb can be shown to fire.
 * node:dgram, not Deno.listenDatagram: that one needs --unstable-net, which a
 * user running the bundle with plain `deno run` would not give. Imported
 * when a datagram is sent, not at start: Deno's Node layer costs every start
 * 30 ms of CPU here.
 * @module
 */
import type { Socket } from "node:dgram";

async function boundSocket(): Promise<Socket> {
  const { createSocket } = await import("node:dgram");
  return new Promise((resolve, reject) => {
    const s = createSocket("udp4");
    s.once("error", reject);
    s.bind(0, "127.0.0.1", () => resolve(s));
  });
}

function closed(s: Socket): Promise<void> {
  return new Promise((resolve) => s.close(() => resolve()));
}

/** A loopback UDP port that nothing listens on right now. */
export async function closedLoopbackPort(): Promise<number> {
  const s = await boundSocket();
  const port = s.address().port;
  await closed(s);
  return port;
}

/** Sends one datagram to 127.0.0.1:port; rejects when loopback is down. */
export async function sendLoopbackDatagram(port: number): Promise<void> {
  const s = await boundSocket();
  try {
    await new Promise<void>((resolve, reject) =>
      s.send(new TextEncoder().encode("nettrace probe"), port, "127.0.0.1", (e) => e ? reject(e) : resolve())
    );
  } finally {
    await closed(s);
  }
}
