import { createServer, type Server } from "node:http";
import { connect } from "node:net";
import type { AddressInfo } from "node:net";
import { WebSocketServer } from "ws";

export interface WsProxy {
  /** ws://127.0.0.1:port — give this to the Neon driver as its wsProxy. */
  url: string;
  /** http://127.0.0.1:port/stats answers how many tunnels were opened (for tests inside workerd). */
  statsUrl: string;
  stats: { connections: number; bytesToServer: number; bytesToClient: number };
  close(): Promise<void>;
}

/**
 * What Neon runs in front of Postgres, in a few lines: each WebSocket is a raw TCP tunnel to
 * `?address=host:port`. Only loopback targets are allowed; this is a test fixture, not a product.
 */
export async function startWsProxy(): Promise<WsProxy> {
  const stats = { connections: 0, bytesToServer: 0, bytesToClient: 0 };
  const http: Server = createServer((req, res) => {
    if (req.url === "/stats") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(stats));
      return;
    }
    res.writeHead(404).end();
  });
  const wss = new WebSocketServer({ server: http });
  wss.on("connection", (ws, req) => {
    const address = new URL(req.url ?? "/", "http://x").searchParams.get("address") ?? "127.0.0.1:5432";
    const [host, portText] = address.split(":");
    if (!host || !/^(127\.[0-9.]+|localhost)$/.test(host)) {
      ws.close(1008, "loopback only");
      return;
    }
    stats.connections++;
    const socket = connect(Number(portText ?? 5432), host);
    const pending: Buffer[] = [];
    let open = false;
    socket.on("connect", () => {
      open = true;
      for (const chunk of pending.splice(0)) socket.write(chunk);
    });
    socket.on("data", (data) => {
      stats.bytesToClient += data.length;
      if (ws.readyState === ws.OPEN) ws.send(data);
    });
    socket.on("close", () => ws.close());
    socket.on("error", () => ws.close());
    ws.on("message", (data: Buffer) => {
      stats.bytesToServer += data.length;
      if (open) socket.write(data);
      else pending.push(data);
    });
    ws.on("close", () => socket.destroy());
    ws.on("error", () => socket.destroy());
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  const port = (http.address() as AddressInfo).port;
  return {
    url: `ws://127.0.0.1:${port}`,
    statsUrl: `http://127.0.0.1:${port}/stats`,
    stats,
    async close() {
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
