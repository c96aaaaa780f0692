import { describe, expect, it } from 'vitest';
import type { Writable } from 'node:stream';
import * as ws from 'ws';
import { allocTextFrame } from '../../src/server/ws-frames.js';

/** `ws`'s frame parser: exported by `ws`, not declared by @types/ws. */
const Receiver = (ws as unknown as { Receiver: new (options: { isServer: boolean }) => Writable }).Receiver;

/** Decodes frames as a `ws` client would, with its own Receiver. */
function receive(bytes: Buffer): Promise<{ text: string; isBinary: boolean }[]> {
  const receiver = new Receiver({ isServer: false });
  const messages: { text: string; isBinary: boolean }[] = [];
  receiver.on('message', (data: Buffer, isBinary: boolean) => messages.push({ text: data.toString('utf8'), isBinary }));
  return new Promise((resolve, reject) => {
    receiver.on('error', reject);
    receiver.write(bytes, () => resolve(messages));
  });
}

function textFrame(text: string): Buffer {
  const body = Buffer.from(text);
  const { frame, bodyOffset } = allocTextFrame(body.length);
  body.copy(frame, bodyOffset);
  return frame;
}

describe('text frames built whole', () => {
  it.each([0, 1, 125, 126, 127, 65_535, 65_536, 70_001])('reads back as one text message of %i bytes', async (length) => {
    const text = 'x'.repeat(length);
    expect(await receive(textFrame(text))).toEqual([{ text, isBinary: false }]);
  });

  it('carries multi-byte characters, and frames written back to back read as separate messages', async () => {
    const texts = ['{"id":"bé-ü","type":"next"}', '€'.repeat(50), 'last'];
    expect(await receive(Buffer.concat(texts.map(textFrame)))).toEqual(texts.map((text) => ({ text, isBinary: false })));
  });
});
