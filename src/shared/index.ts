// Public surface of the shared module: errors, clocks, byte helpers and the hash-chained log (browser-safe).
export * from './errors.js';
export * from './bytes.js';
export * from './clock.js';
export * from './logger.js';
export * from './hash-chain.js';
export * from './canonical-json.js';
