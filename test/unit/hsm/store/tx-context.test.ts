import { setImmediate as tick } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { TxContext } from '../../../../src/hsm/store/tx-context.js';

describe('TxContext', () => {
  it('is inside across awaits of the transaction, and outside before and after', async () => {
    const c = new TxContext();
    expect(c.inside()).toBe(false);
    const seen = await c.run(async () => {
      const first = c.inside();
      await tick();
      return [first, c.inside()];
    });
    expect(seen).toEqual([true, true]);
    expect(c.inside()).toBe(false);
  });

  it('a transaction ending leaves one still running inside', async () => {
    const c = new TxContext();
    let release = (): void => undefined;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const long = c.run(async () => {
      await gate;
      return c.inside();
    });
    await c.run(async () => {
      await tick();
    });
    release();
    expect(await long).toBe(true);
  });

  it('a callback left running by a finished transaction is outside once none runs', async () => {
    const c = new TxContext();
    let later: Promise<boolean> | undefined;
    let go = (): void => undefined;
    const gate = new Promise<void>((r) => {
      go = r;
    });
    await c.run(async () => {
      later = gate.then(() => c.inside());
      await tick();
    });
    go();
    expect(await later).toBe(false);
  });

  it('a failing transaction is outside afterwards and its error comes through', async () => {
    const c = new TxContext();
    await expect(
      c.run(async () => {
        await tick();
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(c.inside()).toBe(false);
    expect(await c.run(() => Promise.resolve(c.inside()))).toBe(true);
  });
});
