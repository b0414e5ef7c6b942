/**
 * TCP ends for socket tests, run inside a test namespace with
 * `ip netns exec NS deno run -A tcp_flow.ts ROLE ...`:
 *
 *   sink ADDR PORT [WAIT_MS]    accepts connections and reads them to the end,
 *                               with WAIT_MS first waiting that long (a reader
 *                               that does not read yet: the kernel then delays
 *                               its ACKs); prints "listening" once it listens
 *   send ADDR PORT N SIZE [PAUSE_MS]
 *                               connects (TCP_NODELAY), writes N chunks of SIZE
 *                               bytes one by one, and with PAUSE_MS waits that
 *                               long and writes one chunk more; then closes.
 *                               Prints "connected" once connected
 *   reset ADDR PORT             accepts one connection, reads the first byte
 *                               of its data (the client sends more) and closes
 *                               with the rest unread: the kernel resets the
 *                               connection (an application's reset);
 *                               prints "listening" once it listens
 *   drain ADDR PORT             accepts one connection, reads it until the
 *                               peer closes, then closes too (both ends
 *                               close in order); prints "listening" once it
 *                               listens
 */
const [role, hostname, portText, ...rest] = Deno.args;
const port = Number(portText);

async function sink(): Promise<void> {
  const wait = Number(rest[0] ?? 0);
  const listener = Deno.listen({ hostname, port });
  console.log("listening");
  for await (const conn of listener) {
    (async () => {
      if (wait) await new Promise((r) => setTimeout(r, wait));
      for await (const _ of conn.readable) { /* read to the end */ }
    })().catch(() => {});
  }
}

async function send(): Promise<void> {
  const [n, size, pause] = rest.map(Number);
  const conn = await Deno.connect({ hostname, port });
  conn.setNoDelay(true);
  console.log("connected");
  const chunk = new Uint8Array(size).fill(0x61);
  const writeAll = async (b: Uint8Array) => {
    for (let off = 0; off < b.length;) off += await conn.write(b.subarray(off));
  };
  for (let i = 0; i < n; i++) {
    await writeAll(chunk);
    await new Promise((r) => setTimeout(r, 1));
  }
  if (pause) {
    await new Promise((r) => setTimeout(r, pause));
    await writeAll(chunk);
  }
  // let the last segments be acknowledged before the close
  await new Promise((r) => setTimeout(r, 300));
  conn.close();
}

async function reset(): Promise<void> {
  const listener = Deno.listen({ hostname, port });
  console.log("listening");
  const conn = await listener.accept();
  // wait for the data by reading its first byte only: the rest stays unread in the receive queue, however
  // late it came (a fixed wait raced a slow client: a close before the data is a FIN, not a reset)
  await conn.read(new Uint8Array(1));
  conn.close();
  listener.close();
}

async function drain(): Promise<void> {
  const listener = Deno.listen({ hostname, port });
  console.log("listening");
  const conn = await listener.accept();
  listener.close();
  const buf = new Uint8Array(65536);
  while (await conn.read(buf) !== null) { /* until the peer's FIN */ }
  conn.close();
}

switch (role) {
  case "sink":
    await sink();
    break;
  case "send":
    await send();
    break;
  case "reset":
    await reset();
    break;
  case "drain":
    await drain();
    break;
  default:
    console.error(`tcp_flow.ts: unknown role '${role}' (sink, send, reset, drain)`);
    Deno.exit(2);
}
