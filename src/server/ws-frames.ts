/**
 * A WebSocket text frame as the server sends it (RFC 6455 §5.2: FIN, opcode 1, unmasked) for a body of `bodyLength`
 * bytes, with its header already written; the caller writes the body from `bodyOffset`. With `bodyBytesHere`, the
 * buffer holds only that much of the body, and the caller writes the rest to the socket right after it (a body
 * shared by many frames is then not copied into each).
 *
 * Why by hand: `ws` writes each frame through its Sender as a header and a body write of their own, and offers no
 * way to send bytes already framed. A fan-out of one change to 10,000 subscriptions spent about half of its CPU in
 * that machinery (BENCHMARKS.md, "Frames written whole"); frames built here and written straight to the socket, in
 * the order `ws` writes its own, took the gateway's CPU per change from 44–51 ms to 27–36 ms.
 */
export function allocTextFrame(bodyLength: number, bodyBytesHere = bodyLength): { readonly frame: Buffer; readonly bodyOffset: number } {
  const bodyOffset = bodyLength < 126 ? 2 : bodyLength < 65_536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(bodyOffset + bodyBytesHere);
  frame[0] = 0x81; // FIN, text
  if (bodyLength < 126) frame[1] = bodyLength;
  else if (bodyLength < 65_536) {
    frame[1] = 126;
    frame.writeUInt16BE(bodyLength, 2);
  } else {
    frame[1] = 127;
    frame.writeBigUInt64BE(BigInt(bodyLength), 2);
  }
  return { frame, bodyOffset };
}
