// Public surface of the shared module: errors, clocks and byte helpers (browser-safe).
export * from './errors.js';
export * from './bytes.js';
export * from './clock.js';
export * from './logger.js';
