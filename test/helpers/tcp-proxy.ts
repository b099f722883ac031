import net from 'node:net';

/**
 * A TCP proxy in front of the store, so that a test can take the store away
 * (refusing connections, dropping the open ones) and bring it back, or make it
 * hang: connections stay open and nothing comes back.
 */
export async function tcpProxy(host: string, port: number) {
  const sockets = new Set<net.Socket>();
  const pairs = new Set<[net.Socket, net.Socket]>();
  const server = net.createServer((client) => {
    const upstream = net.connect(port, host);
    pairs.add([client, upstream]);
    upstream.on('close', () => pairs.forEach((pair) => pair[1] === upstream && pairs.delete(pair)));
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  const listenOn = (listenPort: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(listenPort, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  await listenOn(0);
  const proxyPort = (server.address() as net.AddressInfo).port;
  const cut = async () => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of sockets) socket.destroy();
    await closed;
  };
  /** Stops forwarding in both directions on the open connections: requests go unanswered. */
  const hang = () => {
    for (const [client, upstream] of pairs) {
      client.unpipe(upstream);
      upstream.unpipe(client);
      client.pause();
      upstream.pause();
    }
  };
  return {
    port: proxyPort,
    cut,
    hang,
    restore: () => listenOn(proxyPort),
    close: async () => {
      if (server.listening) await cut();
    },
  };
}
