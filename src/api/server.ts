// The API's own HTTPS listener (TLS settings separate from the TSA's): server certificate and
// key, and when client certificates are mapped, a request for one checked against the client
// CA. An unacceptable certificate still completes the handshake so that the client reads a
// 401 problem that says why, instead of a bare TLS alert. TLS 1.2 and 1.3 only, and no
// renegotiation: Node's default lets a TLS 1.2 client renegotiate three times per ten minutes
// on each connection (tls.CLIENT_RENEG_LIMIT), each a full handshake the server pays for (a
// cheap way to load it) and a chance to swap the client certificate under an authenticated
// connection; the API has no use for it.
import { constants } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createApiApp, type ApiAppOptions } from './app.js';

export interface ApiTls {
  /** PEM server certificate chain and private key. */
  readonly cert: string | Buffer;
  readonly key: string | Buffer;
  /** PEM CA certificates that client certificates are checked against. */
  readonly clientCa?: string | Buffer;
}

export interface ApiServerOptions extends ApiAppOptions {
  readonly tls: ApiTls;
  readonly host?: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** Time a TLS client has to finish its handshake (default 10 s). */
  readonly handshakeTimeoutMs?: number;
  readonly requestTimeoutMs?: number;
}

export interface ApiServer {
  readonly server: Server;
  readonly port: number;
  readonly url: string;
  /**
   * Stops accepting, lets the requests in flight finish and closes each connection once idle;
   * after `graceMs` (10 s by default) closes those still open. Calling it again waits for the
   * same close.
   */
  close(graceMs?: number): Promise<void>;
}

export async function startApiServer(options: ApiServerOptions): Promise<ApiServer> {
  const app = createApiApp(options);
  // The handlers still running: a client that goes away does not stop its request's work (a
  // signature, its audit entries), and close() waits for that work as well as for the sockets,
  // so that the store is not closed under it.
  const handle = app.callback();
  let running = 0;
  let idle: (() => void) | undefined;
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    running++;
    // Koa's callback answers every error itself: the promise does not reject.
    void handle(req, res).finally(() => {
      running--;
      if (running === 0) idle?.();
    });
  };
  const mtls = options.tls.clientCa !== undefined || (options.auth.certificates?.length ?? 0) > 0;
  const server = createServer(
    {
      cert: options.tls.cert,
      key: options.tls.key,
      // Below TLS 1.2 the handshake is refused with a protocol_version alert.
      minVersion: 'TLSv1.2',
      // OpenSSL answers a renegotiation request with a no_renegotiation alert.
      secureOptions: constants.SSL_OP_NO_RENEGOTIATION,
      ...(mtls
        ? {
            requestCert: true,
            rejectUnauthorized: false,
            // Without a client CA, none: Node's public roots must never vouch for a client
            // (certificates are then accepted only when pinned by fingerprint).
            ca: options.tls.clientCa ?? [],
          }
        : {}),
      handshakeTimeout: options.handshakeTimeoutMs ?? 10_000,
      requestTimeout: options.requestTimeoutMs ?? 30_000,
    },
    handler,
  );
  // And Node's own guard, should the OpenSSL option ever be missing: a renegotiation attempt is
  // an error on the socket, which closes it.
  server.on('secureConnection', (socket) => {
    socket.disableRenegotiation();
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const shown = host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | undefined;
  return {
    server,
    port,
    url: `https://${shown}:${port}`,
    close: (graceMs = 10_000) =>
      (closing ??= new Promise<void>((resolve) => {
        // A keep-alive connection that finishes its request after close() began is closed
        // once idle; one that never finishes (a client that stops reading) is bounded by the
        // grace period, so that it cannot keep a stopping process alive.
        const sweep = setInterval(() => {
          server.closeIdleConnections();
        }, 100);
        sweep.unref();
        // Done when the sockets are closed and the handlers have finished, or at the end of
        // the grace period, whatever is still running.
        let socketsClosed = false;
        let forced = false;
        const finish = (): void => {
          if (!socketsClosed || (running > 0 && !forced)) return;
          clearInterval(sweep);
          clearTimeout(force);
          resolve();
        };
        const force = setTimeout(() => {
          forced = true;
          server.closeAllConnections();
          finish();
        }, graceMs);
        force.unref();
        idle = finish;
        server.close(() => {
          socketsClosed = true;
          finish();
        });
        server.closeIdleConnections();
      })),
  };
}
