/**
 * Real TCP sockets on 127.0.0.1 for the peer tests: socket pairs (a listening server on a free
 * port, one client socket, cleanup that closes everything it opened) and raw dials.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

/** A connected client/server socket pair and a function closing both and the server. */
export interface SocketPair {
  readonly client: Socket;
  readonly server: Socket;
  readonly close: () => Promise<void>;
}

/** Opens a server on a free 127.0.0.1 port, connects to it, resolves once both ends exist. */
export async function socketPair(): Promise<SocketPair> {
  const server: Server = createServer({ pauseOnConnect: true });
  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const client = connect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', resolve);
    client.once('error', reject);
  });
  const serverSide = await accepted;
  return {
    client,
    server: serverSide,
    close: async () => {
      client.destroy();
      serverSide.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Polls `check` every 5 ms until it is true; throws after `timeoutMs` (every wait is bounded). */
export async function waitFor(check: () => boolean, timeoutMs = 5_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A raw TCP socket to 127.0.0.1:`port`, once connected (for peers driven by hand). */
export async function dial(port: number): Promise<Socket> {
  const socket = connect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return socket;
}
