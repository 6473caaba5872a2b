// A real SNTPv4 server on 127.0.0.1 for tests (RFC 4330 6, server operations), whose behaviour
// can be switched while it runs: honest, skewed, late, silent, or sending broken replies.
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';

export type ResponderFault =
  /** A well-formed reply. */
  | 'none'
  /** Mode 3 (client) instead of 4 (server). */
  | 'bad-mode'
  /** Stratum 0 with the kiss code "RATE" (RFC 4330 8). */
  | 'kiss-of-death'
  /** Leap indicator 3: server clock not synchronized. */
  | 'leap-alarm'
  /** Originate timestamp that is not the request's transmit timestamp. */
  | 'bad-originate'
  /** Transmit timestamp zero. */
  | 'zero-transmit';

export interface ResponderBehaviour {
  /** Added to the server's clock, in ms (positive: the server runs ahead). */
  readonly skewMs: number;
  /**
   * Return-path latency in ms: the reply is stamped on receipt (T2 = T3) and then held, as if
   * it spent this long in the network.
   */
  readonly lateMs: number;
  /** Drop every request. */
  readonly silent: boolean;
  readonly fault: ResponderFault;
}

export const HONEST: ResponderBehaviour = { skewMs: 0, lateMs: 0, silent: false, fault: 'none' };

export interface SntpResponder {
  readonly host: '127.0.0.1';
  readonly port: number;
  /** Requests received so far. */
  requests(): number;
  /** Replaces the behaviour (unspecified fields return to honest). */
  set(behaviour: Partial<ResponderBehaviour>): void;
  close(): Promise<void>;
}

const now = (): number => performance.timeOrigin + performance.now();

/**
 * Writes epoch ms as an NTP timestamp (RFC 4330 3) with its own arithmetic, independent of the
 * client code under test: seconds since 1900 modulo 2^32, then the binary fraction.
 */
function putTimestamp(out: Uint8Array, offset: number, epochMs: number): void {
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const seconds = Math.floor(epochMs / 1000);
  const fraction = Math.min(0xffff_ffff, Math.floor((epochMs / 1000 - seconds) * 2 ** 32));
  view.setUint32(offset, (seconds + 2_208_988_800) % 2 ** 32);
  view.setUint32(offset + 4, fraction);
}

/** Starts a responder on 127.0.0.1 with an ephemeral port. */
export async function startSntpResponder(
  initial: Partial<ResponderBehaviour> = {},
): Promise<SntpResponder> {
  const socket: Socket = createSocket('udp4');
  let behaviour: ResponderBehaviour = { ...HONEST, ...initial };
  let count = 0;
  const timers = new Set<NodeJS.Timeout>();
  let closed = false;

  const build = (request: Buffer, receivedMs: number, b: ResponderBehaviour): Uint8Array => {
    const out = new Uint8Array(48);
    const version = (request[0]! >> 3) & 0x07;
    const leap = b.fault === 'leap-alarm' ? 3 : 0;
    const mode = b.fault === 'bad-mode' ? 3 : 4;
    out[0] = (leap << 6) | (version << 3) | mode;
    out[1] = b.fault === 'kiss-of-death' ? 0 : 2; // stratum
    out[2] = request[2]!; // poll, copied from the request (RFC 4330 6)
    out[3] = 0xec; // precision 2^-20 s
    const view = new DataView(out.buffer);
    view.setUint32(4, 0x0000_0010); // root delay
    view.setUint32(8, 0x0000_0010); // root dispersion
    if (b.fault === 'kiss-of-death')
      out.set([0x52, 0x41, 0x54, 0x45], 12); // "RATE"
    else out.set([127, 0, 0, 1], 12);
    putTimestamp(out, 16, receivedMs + b.skewMs - 1000); // reference
    // RFC 4330 6: Originate := the request's Transmit Timestamp.
    if (b.fault === 'bad-originate') {
      putTimestamp(out, 24, receivedMs - 12_345);
    } else {
      out.set(request.subarray(40, 48), 24);
    }
    putTimestamp(out, 32, receivedMs + b.skewMs);
    if (b.fault !== 'zero-transmit') putTimestamp(out, 40, now() + b.skewMs);
    return out;
  };
  const send = (out: Uint8Array, peer: RemoteInfo): void => {
    if (!closed) socket.send(out, peer.port, peer.address);
  };

  socket.on('message', (msg, peer) => {
    const receivedMs = now();
    count++;
    const b = behaviour;
    // Only well-formed client requests get an answer.
    if (b.silent || msg.length < 48 || (msg[0]! & 0x07) !== 3) return;
    const out = build(msg, receivedMs, b);
    if (b.lateMs > 0) {
      const t = setTimeout(() => {
        timers.delete(t);
        send(out, peer);
      }, b.lateMs);
      timers.add(t);
    } else {
      send(out, peer);
    }
  });

  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => {
      socket.off('error', reject);
      resolve();
    });
  });
  const port = socket.address().port;
  return {
    host: '127.0.0.1',
    port,
    requests: () => count,
    set(next) {
      behaviour = { ...HONEST, ...next };
    },
    close() {
      closed = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      return new Promise((resolve) => {
        socket.close(() => {
          resolve();
        });
      });
    },
  };
}
