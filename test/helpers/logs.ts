import { Writable } from 'node:stream';
import type { Logger } from 'pino';
import { createLogger } from '../../src/infra/logger.js';

/** The server's own logger (redaction, serializers) at `level`, writing to memory: `text()` is all it wrote so far. */
export function memoryLogger(level: string): { logger: Logger; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  return { logger: createLogger(level, stream), text: () => chunks.join('') };
}
