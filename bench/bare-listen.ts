import type { FastifyInstance } from 'fastify';
import type pg from 'pg';

/**
 * How every bare server of the bench (the same-run ceilings) serves: on
 * 127.0.0.1 and PORT (0: any free port), printing `listening <port>` once
 * ready (spawnListening waits for that line); on SIGTERM or SIGINT it closes
 * the server, then the pool, and exits 0.
 */
export async function listenUntilSignalled(app: FastifyInstance, pool?: pg.Pool): Promise<void> {
  const address = await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 0) });
  process.stdout.write(`listening ${new URL(address).port}\n`);
  const close = () => {
    void app
      .close()
      .then(() => pool?.end())
      .then(() => process.exit(0));
  };
  process.on('SIGTERM', close);
  process.on('SIGINT', close);
}
