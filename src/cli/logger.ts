// Structured JSON logs with pino on standard error: time, level, message and non-secret fields
// (identifiers, counts, codes); never token bytes, imprints in clear text or secrets.
import { pino } from 'pino';
import type { LogFields, Logger } from '../shared/index.js';

/**
 * A Logger writing JSON lines through `write` (standard error in production, a buffer in
 * tests). pino is used for its speed and its stable line format.
 */
export function createJsonLogger(write: (line: string) => void): Logger {
  const log = pino(
    {
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      messageKey: 'message',
      formatters: { level: (label) => ({ level: label }) },
    },
    {
      write: (line: string) => {
        write(line);
      },
    },
  );
  return {
    info: (m: string, f?: LogFields) => {
      log.info(f ?? {}, m);
    },
    warn: (m: string, f?: LogFields) => {
      log.warn(f ?? {}, m);
    },
    error: (m: string, f?: LogFields) => {
      log.error(f ?? {}, m);
    },
  };
}
