import type { WebSocket } from 'ws';

/**
 * One serialization per event, however many sockets it goes to. A subscription
 * whose result is shared (useSharedEventResults: one result object for every
 * watcher of a stockChanged item or a quiz's leaderboard) would otherwise be
 * turned into JSON by graphql-ws once per socket — for 5,000 watchers, 5,000
 * JSON.stringify calls and strings of one event. Here graphql-ws's replacer
 * leaves a token in place of a `next` message's payload, and the socket's send
 * swaps the token for the payload's JSON, made once per payload object, and
 * sends a frame built once per payload and message prefix (the subscription's
 * id): every watcher of one event with the same id is sent the same buffer.
 */
export interface SharedFrames {
  /** graphql-ws's jsonMessageReplacer. */
  replacer(this: unknown, key: string, value: unknown): unknown;
  /** Wraps `socket.send` so that messages with a token go out as their frame. */
  attach(socket: WebSocket): void;
}

/** Tokens not sent yet (the socket was closing): forgotten past this many. */
const MAX_PENDING = 10_000;
const TOKEN = /"\\u0000(\d+)"/;

export function sharedFrames(): SharedFrames {
  const json = new WeakMap<object, string>();
  const frames = new WeakMap<object, Map<string, Buffer>>();
  const pending = new Map<number, object>();
  let counter = 0;

  const jsonOf = (payload: object) => {
    let text = json.get(payload);
    if (text === undefined) json.set(payload, (text = JSON.stringify(payload)));
    return text;
  };

  /** The frame of a message holding a token, or the message itself when it holds none. */
  const frameOf = (data: string): string | Buffer => {
    const match = TOKEN.exec(data);
    if (!match) return data;
    const token = Number(match[1]);
    const payload = pending.get(token);
    pending.delete(token);
    if (!payload) throw new Error('ws-frames: a message token with no payload');
    const end = match.index + match[0].length;
    // {"id":"…","type":"next","payload":<token>} — graphql-ws's order: the frame is cached by what comes before.
    if (end === data.length - 1) {
      const prefix = data.slice(0, match.index);
      let byPrefix = frames.get(payload);
      if (!byPrefix) frames.set(payload, (byPrefix = new Map()));
      let frame = byPrefix.get(prefix);
      if (!frame) byPrefix.set(prefix, (frame = Buffer.from(`${prefix}${jsonOf(payload)}}`)));
      return frame;
    }
    return `${data.slice(0, match.index)}${jsonOf(payload)}${data.slice(end)}`;
  };

  return {
    replacer(key, value) {
      if (key !== 'payload' || typeof value !== 'object' || value === null) return value;
      if ((this as { type?: unknown } | undefined)?.type !== 'next') return value;
      counter = (counter + 1) % Number.MAX_SAFE_INTEGER;
      pending.set(counter, value);
      if (pending.size > MAX_PENDING) pending.delete(pending.keys().next().value!);
      return `\u0000${counter}`;
    },
    attach(socket) {
      const send = socket.send.bind(socket) as (data: unknown, options: object, callback?: (error?: Error) => void) => void;
      socket.send = ((data: unknown, optionsOrCallback?: unknown, callback?: unknown) => {
        const options = typeof optionsOrCallback === 'object' && optionsOrCallback !== null ? optionsOrCallback : {};
        const done = (typeof optionsOrCallback === 'function' ? optionsOrCallback : callback) as ((error?: Error) => void) | undefined;
        const frame = typeof data === 'string' ? frameOf(data) : data;
        // A Buffer is sent as a text frame, as the string it stands for would be.
        send(frame, typeof frame === 'string' ? options : { ...options, binary: false }, done);
      }) as WebSocket['send'];
    },
  };
}
