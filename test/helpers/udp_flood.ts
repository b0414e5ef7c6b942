/**
 * Sends a burst of UDP datagrams as fast as this process can: the load of
 * the ring overflow test and of deno task bench. Run it inside a test
 * namespace: `ip netns exec NS deno run -A udp_flood.ts ADDR PORT COUNT [PORTS]`;
 * with PORTS, datagram i goes to PORT + i % PORTS (a port scan).
 * Prints the number of datagrams sent; on stderr, the rate it sent them at.
 */
import dgram from "node:dgram";

const [addr, portText, countText, portsText] = Deno.args;
const port = Number(portText), count = Number(countText), ports = Number(portsText ?? "1");
if (!addr || !(port > 0) || !(count > 0) || !(ports >= 1) || port + ports > 65536) {
  console.error("usage: udp_flood.ts ADDR PORT COUNT [PORTS]");
  Deno.exit(2);
}
const sock = dgram.createSocket(addr.includes(":") ? "udp6" : "udp4");
const payload = new Uint8Array(16);
let sent = 0, done = 0;
const started = performance.now();
await new Promise<void>((resolve) => {
  for (let i = 0; i < count; i++) {
    sock.send(payload, port + (i % ports), addr, (err) => {
      if (!err) sent++;
      if (++done === count) resolve();
    });
  }
});
sock.close();
const seconds = (performance.now() - started) / 1000;
console.error(`${sent} datagrams in ${seconds.toFixed(3)} s: ${Math.round(sent / seconds)}/s`);
console.log(sent);
