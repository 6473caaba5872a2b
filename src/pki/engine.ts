// The one place that registers a WebCrypto engine for pkijs (globalThis.crypto in Node 20+ and
// in browsers).
import * as pkijs from 'pkijs';

let registered = false;

export function ensureCryptoEngine(): void {
  if (registered) return;
  const webcrypto = globalThis.crypto as typeof globalThis.crypto | undefined;
  if (webcrypto !== undefined) {
    pkijs.setEngine('webcrypto', new pkijs.CryptoEngine({ name: 'webcrypto', crypto: webcrypto }));
  }
  registered = true;
}
