// Which async calls run inside one of a store's transactions: the guard against a reader (or
// a nested transaction) used from inside a transaction, which would deadlock on SQLite and
// miss the uncommitted writes on PostgreSQL. It rests on AsyncLocalStorage, which on Node 20
// turns on V8's promise hooks for the whole process while any instance is enabled: every
// promise of the process (the TSA's included) then pays a hook call. So the storage is
// disabled again whenever no transaction of the store is running; the next one enables it.
import { AsyncLocalStorage } from 'node:async_hooks';

export class TxContext {
  private readonly storage = new AsyncLocalStorage<true>();
  /** Transactions of the store running now (their callbacks entered and not yet settled). */
  private running = 0;

  /** True when called from inside one of the store's running transactions. */
  inside(): boolean {
    return this.storage.getStore() === true;
  }

  /** Runs `fn` as inside a transaction until the promise it returns settles. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    this.running++;
    try {
      return await this.storage.run(true, fn);
    } finally {
      // A context a detached callback kept from inside a finished transaction is exited too:
      // outside every running transaction, no call is inside one.
      if (--this.running === 0) this.storage.disable();
    }
  }
}
