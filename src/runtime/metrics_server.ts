/**
 * --metrics ADDR:PORT: an HTTP server whose /metrics is the Prometheus text
 * exposition, made at each scrape. Anything else is 404.
 * @module
 */
import { HostError } from "../errors.ts";

/** A listening metrics server. */
export interface MetricsServer {
  /** where it listens: "127.0.0.1:9464" */
  readonly address: string;
  close(): Promise<void>;
}

/** Listens on hostname:port (port 0: any free one) and answers /metrics with render(). */
export function serveMetrics(hostname: string, port: number, render: () => string): MetricsServer {
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({ hostname, port, onListen: () => {} }, (req) => {
      const url = new URL(req.url);
      if (url.pathname !== "/metrics") return new Response("not found: nettrace serves /metrics\n", { status: 404 });
      if (req.method !== "GET" && req.method !== "HEAD") return new Response(null, { status: 405 });
      return new Response(render(), { headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" } });
    });
  } catch (e) {
    throw new HostError(`--metrics: cannot listen on ${hostname}:${port}: ${(e as Error).message}`);
  }
  const a = server.addr;
  return {
    address: a.hostname.includes(":") ? `[${a.hostname}]:${a.port}` : `${a.hostname}:${a.port}`,
    close: () => server.shutdown(),
  };
}
