/** Loopback networking shared by the harness's servers. */
import type { Server } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';

/** Listens on 127.0.0.1 (port 0: any free one) and returns the base URL. */
export async function listenOnLoopback(server: Server, port = 0): Promise<{ url: string; port: number }> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${bound}`, port: bound };
}

/** A port that was free a moment ago, for servers that must be told their port (postgres, redis). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}
