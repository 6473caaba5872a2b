// A one-shot SNTPv4 client (RFC 4330; NTPv4 packet format of RFC 5905 7.3): one 48-byte request
// over UDP, the reply checked per RFC 4330 5, and the clock offset and round-trip delay computed
// from the four timestamps. The clock guard queries each configured server with it.
import { createSocket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { AttestampError } from '../../shared/index.js';

export type SntpErrorCode =
  | 'sntp-timeout'
  | 'sntp-socket'
  | 'sntp-reply-short'
  | 'sntp-originate-mismatch'
  | 'sntp-reply-invalid'
  | 'sntp-kiss-of-death';

/** A failed SNTP exchange; `details.server` names the server. */
export class SntpError extends AttestampError<SntpErrorCode> {}

export interface SntpQueryOptions {
  /** How long to wait for a valid reply; a later reply counts as no reply. */
  readonly timeoutMs: number;
  /**
   * The local clock being measured, in milliseconds since the epoch (fraction allowed). Defaults
   * to performance.timeOrigin + performance.now(), the clock the TSA reads.
   */
  readonly now?: () => number;
}

export interface SntpResult {
  /** Server clock minus local clock: ((T2 - T1) + (T3 - T4)) / 2, in milliseconds. */
  readonly offsetMs: number;
  /** Round-trip delay without the server's processing time: (T4 - T1) - (T3 - T2), in ms. */
  readonly delayMs: number;
  readonly stratum: number;
  /** "host:port" of the server that answered. */
  readonly server: string;
}

/** An NTP timestamp: 32-bit unsigned seconds and 32-bit binary fraction (RFC 4330 3). */
export interface NtpTimestamp {
  readonly seconds: number;
  readonly fraction: number;
}

/** The fields of a reply the client uses, after validation. */
export interface SntpReply {
  readonly leap: number;
  readonly version: number;
  readonly mode: number;
  readonly stratum: number;
  /** Receive timestamp T2 (server time when the request arrived), epoch ms. */
  readonly receiveMs: number;
  /** Transmit timestamp T3 (server time when the reply left), epoch ms. */
  readonly transmitMs: number;
}

/** Seconds from 1900-01-01 (NTP era 0) to 1970-01-01 (the Unix epoch). */
const NTP_UNIX_OFFSET_S = 2_208_988_800;
/** Seconds in one NTP era: 2^32 (era 1 starts 2036-02-07T06:28:16Z). */
const ERA_S = 4_294_967_296;
const TWO_32 = 4_294_967_296;
/** RFC 4330 4: the NTP header without the optional authenticator is 48 octets. */
export const SNTP_PACKET_LENGTH = 48;
/** RFC 4330 4: LI 0 (no warning), VN 4, Mode 3 (client), in the first octet. */
const CLIENT_FIRST_OCTET = (0 << 6) | (4 << 3) | 3;

/**
 * Epoch milliseconds to an NTP timestamp (RFC 4330 3): seconds modulo 2^32, so that instants
 * from 2036-02-07T06:28:16Z on land in era 1 with the most significant bit clear.
 */
export function epochMsToNtp(epochMs: number): NtpTimestamp {
  if (!Number.isFinite(epochMs)) throw new RangeError('the time must be finite');
  let whole = Math.floor(epochMs / 1000);
  let fraction = Math.round(((epochMs - whole * 1000) / 1000) * TWO_32);
  if (fraction >= TWO_32) {
    // Rounding carried into the next second.
    fraction -= TWO_32;
    whole += 1;
  }
  const seconds = (((whole + NTP_UNIX_OFFSET_S) % ERA_S) + ERA_S) % ERA_S;
  return { seconds, fraction };
}

/**
 * An NTP timestamp to epoch milliseconds (RFC 4330 3): with the most significant bit set the
 * time is in 1968-2036 and counts from 1900-01-01 (era 0); with it clear the time is in
 * 2036-2104 and counts from 2036-02-07T06:28:16Z (era 1).
 */
export function ntpToEpochMs(ts: NtpTimestamp): number {
  const era = ts.seconds >= 0x8000_0000 ? 0 : 1;
  const unixSeconds = ts.seconds + era * ERA_S - NTP_UNIX_OFFSET_S;
  return unixSeconds * 1000 + (ts.fraction / TWO_32) * 1000;
}

export function readNtpTimestamp(bytes: Uint8Array, offset: number): NtpTimestamp {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { seconds: view.getUint32(offset), fraction: view.getUint32(offset + 4) };
}

export function writeNtpTimestamp(bytes: Uint8Array, offset: number, ts: NtpTimestamp): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  view.setUint32(offset, ts.seconds);
  view.setUint32(offset + 4, ts.fraction);
}

/** RFC 4330 4 field offsets in the 48-octet header. */
const OFF = { refId: 12, originate: 24, receive: 32, transmit: 40 } as const;

/**
 * The client request (RFC 4330 5): all fields zero except LI 0, VN 4, Mode 3 and the Transmit
 * Timestamp, which the server copies into the reply's Originate Timestamp.
 */
export function buildSntpRequest(transmit: NtpTimestamp): Uint8Array {
  const packet = new Uint8Array(SNTP_PACKET_LENGTH);
  packet[0] = CLIENT_FIRST_OCTET;
  writeNtpTimestamp(packet, OFF.transmit, transmit);
  return packet;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Checks a server reply against the request it answers (RFC 4330 5) and returns its fields.
 * Throws SntpError: 'sntp-reply-short' and 'sntp-originate-mismatch' for datagrams that are not
 * an answer to this request (to be discarded), 'sntp-kiss-of-death' for stratum 0, and
 * 'sntp-reply-invalid' for an answer the client must not use.
 */
export function validateSntpReply(reply: Uint8Array, request: Uint8Array): SntpReply {
  // RFC 4330 4: a reply carries at least the 48-octet header.
  if (reply.length < SNTP_PACKET_LENGTH) {
    throw new SntpError('sntp-reply-short', 'the reply is shorter than an ntp header', {
      details: { length: reply.length },
    });
  }
  // RFC 4330 5: the Originate Timestamp must equal the Transmit Timestamp of our request;
  // anything else is a stray, replayed or forged datagram.
  const sent = request.subarray(OFF.transmit, OFF.transmit + 8);
  if (!equalBytes(reply.subarray(OFF.originate, OFF.originate + 8), sent)) {
    throw new SntpError(
      'sntp-originate-mismatch',
      'the reply does not answer our request (originate timestamp differs)',
    );
  }
  const first = reply[0]!;
  const leap = first >> 6;
  const version = (first >> 3) & 0x07;
  const mode = first & 0x07;
  const stratum = reply[1]!;
  const invalid = (message: string, details: Record<string, number>): SntpError =>
    new SntpError('sntp-reply-invalid', message, { details });
  // RFC 4330 5: a unicast reply has Mode 4 (server).
  if (mode !== 4) throw invalid('the reply mode is not server (4)', { mode });
  // RFC 4330 5: the server replies with the version of the request; accept NTPv3 and v4.
  if (version !== 3 && version !== 4) throw invalid('the reply version is not 3 or 4', { version });
  // RFC 4330 8: stratum 0 is a kiss-o'-death; the reference identifier carries its ASCII code.
  if (stratum === 0) {
    const code = String.fromCharCode(...reply.subarray(OFF.refId, OFF.refId + 4)).replace(
      /[^\x20-\x7e]/g,
      '?',
    );
    throw new SntpError('sntp-kiss-of-death', `the server sent a kiss-o'-death (${code})`, {
      details: { code },
    });
  }
  // RFC 4330 4: stratum 16 and above means unsynchronized or reserved.
  if (stratum > 15) throw invalid('the server is not synchronized (stratum above 15)', { stratum });
  // RFC 4330 4 and 5: LI 3 is the alarm condition (server clock not synchronized).
  if (leap === 3)
    throw invalid('the server clock is not synchronized (leap indicator 3)', { leap });
  const receive = readNtpTimestamp(reply, OFF.receive);
  const transmit = readNtpTimestamp(reply, OFF.transmit);
  // RFC 4330 5: a zero Transmit Timestamp means the server has no time to give; a zero Receive
  // Timestamp would make the offset meaningless.
  if (transmit.seconds === 0 && transmit.fraction === 0) {
    throw invalid('the reply transmit timestamp is zero', {});
  }
  if (receive.seconds === 0 && receive.fraction === 0) {
    throw invalid('the reply receive timestamp is zero', {});
  }
  return {
    leap,
    version,
    mode,
    stratum,
    receiveMs: ntpToEpochMs(receive),
    transmitMs: ntpToEpochMs(transmit),
  };
}

/**
 * Offset and delay from the four timestamps (RFC 4330 5): T1 request sent, T2 request received,
 * T3 reply sent, T4 reply received; all in epoch milliseconds.
 */
export function sntpOffsetDelay(
  t1: number,
  t2: number,
  t3: number,
  t4: number,
): { offsetMs: number; delayMs: number } {
  return { offsetMs: (t2 - t1 + (t3 - t4)) / 2, delayMs: t4 - t1 - (t3 - t2) };
}

const defaultNow = (): number => performance.timeOrigin + performance.now();

/**
 * Sends one SNTP request to host:port and resolves with the measured offset and delay. Stray
 * datagrams (short, or not answering this request) are discarded while waiting; a genuine reply
 * that fails validation rejects at once. Rejects with SntpError on timeout; the socket is always
 * closed.
 */
export function querySntp(
  host: string,
  port: number,
  options: SntpQueryOptions,
): Promise<SntpResult> {
  const server = isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
  const now = options.now ?? defaultNow;
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    return Promise.reject(new RangeError(`invalid sntp port ${port}`));
  }
  if (!(options.timeoutMs > 0)) {
    return Promise.reject(new RangeError('the sntp timeout must be positive'));
  }
  return new Promise<SntpResult>((resolve, reject) => {
    const socket = createSocket(isIPv6(host) ? 'udp6' : 'udp4');
    let settled = false;
    let discarded: SntpError | undefined;
    let t1 = 0;
    let request: Uint8Array = new Uint8Array(0);
    const finish = (error: Error | undefined, result?: SntpResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.removeAllListeners('message');
      try {
        socket.close();
      } catch {
        // Already closed by a socket error: nothing left to release.
      }
      if (error !== undefined) reject(error);
      else resolve(result!);
    };
    const timer = setTimeout(() => {
      const last = discarded;
      finish(
        new SntpError(
          'sntp-timeout',
          last === undefined
            ? `no reply within ${options.timeoutMs} ms`
            : `no valid reply within ${options.timeoutMs} ms (${last.message})`,
          { details: { server, timeoutMs: options.timeoutMs } },
        ),
      );
    }, options.timeoutMs);
    socket.on('error', (error) => {
      finish(
        new SntpError('sntp-socket', `udp error: ${error.message}`, {
          cause: error,
          details: { server },
        }),
      );
    });
    socket.on('message', (message: Buffer) => {
      const t4 = now();
      const bytes = new Uint8Array(message.buffer, message.byteOffset, message.byteLength);
      let reply: SntpReply;
      try {
        reply = validateSntpReply(bytes, request);
      } catch (error) {
        if (
          error instanceof SntpError &&
          (error.code === 'sntp-reply-short' || error.code === 'sntp-originate-mismatch')
        ) {
          // RFC 4330 5: not an answer to this request; keep waiting for the real one.
          discarded = error;
          return;
        }
        finish(
          error instanceof SntpError
            ? new SntpError(error.code, error.message, {
                cause: error,
                details: { ...error.details, server },
              })
            : new SntpError('sntp-reply-invalid', 'unreadable reply', {
                cause: error,
                details: { server },
              }),
        );
        return;
      }
      const { offsetMs, delayMs } = sntpOffsetDelay(t1, reply.receiveMs, reply.transmitMs, t4);
      finish(undefined, { offsetMs, delayMs, stratum: reply.stratum, server });
    });
    // A connected socket only delivers datagrams from the server's address and port.
    // A lookup failure reaches the connect callback, not 'error': answer it as a socket error.
    socket.connect(port, host, (error?: Error) => {
      if (settled) return;
      if (error) {
        finish(
          new SntpError('sntp-socket', `cannot reach the server: ${error.message}`, {
            cause: error,
            details: { server },
          }),
        );
        return;
      }
      t1 = now();
      request = buildSntpRequest(epochMsToNtp(t1));
      socket.send(request, (error) => {
        if (error) {
          finish(
            new SntpError('sntp-socket', `udp send failed: ${error.message}`, {
              cause: error,
              details: { server },
            }),
          );
        }
      });
    });
  });
}
