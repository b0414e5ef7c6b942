/**
 * A TCP server that resets its one connection: it accepts, waits for data,
 * and closes without reading it, so the kernel aborts the connection with a
 * RST (what an application closing with unread data does). Run it inside a
 * test namespace: `ip netns exec NS deno run -A tcp_reset_server.ts ADDR PORT`.
 * Prints "listening" once it listens.
 */
const [hostname, portText] = Deno.args;
const listener = Deno.listen({ hostname, port: Number(portText) });
console.log("listening");
const conn = await listener.accept();
// the data arrives in the socket's receive queue; wait for it without reading it
await new Promise((r) => setTimeout(r, 500));
conn.close();
listener.close();
