import { describe, expect, it } from 'vitest';
import { allocTextFrame } from '../../src/server/ws-frames.js';
import { readFrames } from '../utils/ws-frames.js';

function textFrame(text: string): Buffer {
  const body = Buffer.from(text);
  const { frame, bodyOffset } = allocTextFrame(body.length);
  body.copy(frame, bodyOffset);
  return frame;
}

describe('text frames built whole', () => {
  it.each([0, 1, 125, 126, 127, 65_535, 65_536, 70_001])('reads back as one text message of %i bytes', async (length) => {
    const text = 'x'.repeat(length);
    expect(await readFrames(textFrame(text))).toEqual([{ text, isBinary: false }]);
  });

  it('carries multi-byte characters, and frames written back to back read as separate messages', async () => {
    const texts = ['{"id":"bé-ü","type":"next"}', '€'.repeat(50), 'last'];
    expect(await readFrames(Buffer.concat(texts.map(textFrame)))).toEqual(texts.map((text) => ({ text, isBinary: false })));
  });

  it.each([10, 125, 126, 70_001])('reads back whole when only its start is in the frame buffer and the rest follows (%i bytes)', async (length) => {
    const tail = Buffer.from('t'.repeat(length));
    const head = Buffer.from('{"id":"ü"}:');
    const { frame, bodyOffset } = allocTextFrame(head.length + tail.length, head.length);
    head.copy(frame, bodyOffset);
    expect(frame.length).toBe(bodyOffset + head.length);
    expect(await readFrames(Buffer.concat([frame, tail, textFrame('next')]))).toEqual([
      { text: `{"id":"ü"}:${tail.toString()}`, isBinary: false },
      { text: 'next', isBinary: false },
    ]);
  });
});
