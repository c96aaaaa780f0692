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
});
