import type { Writable } from 'node:stream';
import * as ws from 'ws';

/** `ws`'s frame parser: exported by `ws`, not declared by @types/ws. */
const Receiver = (ws as unknown as { Receiver: new (options: { isServer: boolean }) => Writable }).Receiver;

/** Decodes server frames as a `ws` client would, with its own Receiver. */
export function readFrames(bytes: Buffer): Promise<{ text: string; isBinary: boolean }[]> {
  const receiver = new Receiver({ isServer: false });
  const messages: { text: string; isBinary: boolean }[] = [];
  receiver.on('message', (data: Buffer, isBinary: boolean) => messages.push({ text: data.toString('utf8'), isBinary }));
  return new Promise((resolve, reject) => {
    receiver.on('error', reject);
    receiver.write(bytes, () => resolve(messages));
  });
}
