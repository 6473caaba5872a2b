// JSON-lines logger on standard error: time, level, message and non-secret fields.
import type { LogFields, Logger } from '../shared/index.js';

export function createJsonLogger(write: (line: string) => void): Logger {
  const emit = (level: string, message: string, fields?: LogFields): void => {
    write(JSON.stringify({ time: new Date().toISOString(), level, message, ...fields }) + '\n');
  };
  return {
    info: (m, f) => {
      emit('info', m, f);
    },
    warn: (m, f) => {
      emit('warn', m, f);
    },
    error: (m, f) => {
      emit('error', m, f);
    },
  };
}
