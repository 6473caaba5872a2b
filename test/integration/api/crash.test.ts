// The device store's group commit under load: `attestamp api` is killed (SIGKILL, no shutdown)
// while eight clients keep it signing, so that sign transactions are pending and on their way to
// disk at that moment. Every signature a client received must be backed by a committed key.sign
// entry, and the audit chain must verify.
//
// What a SIGKILL can show: the kernel keeps the page cache of a killed process, so whatever it
// wrote reaches the file, flushed or not. The test therefore checks that no signature is released
// ahead of its commit (one whose commit was still pending at the kill would be missing from the
// log), and that commits cut off mid-way leave a log that opens and verifies. It cannot show that
// a signature waits for the fdatasync of the WAL after its commit (only a power loss would), nor
// catch an answer sent a few microtasks before a COMMIT of the same turn of the event loop: the
// flush ordering is checked by test/unit/hsm/store/sqlite/group-commit.test.ts.
/* eslint-disable @typescript-eslint/no-unsafe-member-access -- every answer is checked against the OpenAPI document by the client before the test reads its fields as plain JSON */
import { spawn } from 'node:child_process';
import { createPublicKey, randomBytes, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Hsm } from '../../../src/hsm/index.js';
import { call, writeApiListenerFiles } from '../../helpers/api.js';
import { BIN, runCli } from '../../helpers/cli.js';
import { tempDir } from '../../helpers/tmp.js';
import { waitFor, waitForMatch } from '../../helpers/wait.js';

const LABEL = 'crash-signer';
const SIGN = `/v1/partitions/default/keys/${LABEL}/sign`;
/** Signatures received before the kill: enough for many batches to have committed. */
const RECEIVED = 300;

/** A client's request that got no answer: the listener went down (reset, refused, hung up). */
function connectionError(e: unknown): string | undefined {
  const code = (e as { code?: unknown }).code;
  return typeof code === 'string' && /^(ECONNRESET|ECONNREFUSED|EPIPE)$/.test(code)
    ? code
    : undefined;
}

describe('device store group commit and a crash', () => {
  it('SIGKILL under load: every signature a client received is in the audit log, the chain verifies', async () => {
    const cwd = tempDir('api-crash-');
    expect(runCli(['init'], { cwd }).code).toBe(0);
    const store = join(cwd, 'data/attestamp.sqlite');
    const masterKey = {
      kind: 'key' as const,
      key: new Uint8Array(
        Buffer.from(readFileSync(join(cwd, 'data/master.key'), 'utf8').trim(), 'hex'),
      ),
    };
    let hsm = await Hsm.open(store, masterKey);
    const spki = await (async () => {
      try {
        await hsm.generateKey('default', {
          label: LABEL,
          algorithm: 'ecdsa-p256',
          purposes: ['sign', 'verify'],
        });
        return (await hsm.key('default', LABEL)).spki;
      } finally {
        await hsm.close();
      }
    })();
    const publicKey = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });

    const files = await writeApiListenerFiles(cwd, 'crash');
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env))
      if (v !== undefined && !k.startsWith('ATTESTAMP_')) env[k] = v;
    // The rate limit far above what eight clients reach: every request is a signature.
    const child = spawn(
      process.execPath,
      [BIN, 'api', ...files.args, '--api-rate-limit', '100000'],
      {
        cwd,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const exited = new Promise<NodeJS.Signals | null>((done) => {
      child.once('exit', (_code, signal) => {
        done(signal);
      });
    });

    // Each request signs data of its own length, so that the key.sign entry of each received
    // signature (its details name the bytes signed) is found one by one.
    let next = 0;
    const received: { data: Buffer; signature: Buffer }[] = [];
    const dropped: string[] = [];
    const unexpected: unknown[] = [];
    const others: number[] = [];
    try {
      const url = (
        await waitForMatch(
          `the API listening (stdout: ${out}; stderr: ${err})`,
          () => {
            if (child.exitCode !== null) throw new Error(`api exited ${child.exitCode}: ${err}`);
            return out;
          },
          /listening on (https:\/\/\S+)/,
        )
      )[1]!;
      // A lane signs until its connection goes down with the listener: after the kill, a request
      // on its way is reset and a new one refused.
      const lane = async (): Promise<void> => {
        for (;;) {
          const data = randomBytes(1 + next++);
          let r;
          try {
            r = await call(url, files.serverCa, 'POST', SIGN, {
              token: files.token,
              json: { data: data.toString('base64') },
            });
          } catch (e) {
            const code = connectionError(e);
            if (code === undefined) unexpected.push(e);
            else dropped.push(code);
            return;
          }
          if (r.status === 200) {
            received.push({ data, signature: Buffer.from(r.json.signature as string, 'base64') });
            // Killed at once on the answer: a signature released ahead of its commit would find
            // the commit still pending.
            if (received.length === RECEIVED) child.kill('SIGKILL');
          } else {
            others.push(r.status);
          }
        }
      };
      const lanes = Promise.all(Array.from({ length: 8 }, lane));
      // Until the lane that received the last of them killed the listener, or a lane ended
      // before (the expectations below then say why).
      await waitFor(
        `${RECEIVED} signatures from the API`,
        () => received.length >= RECEIVED || dropped.length + unexpected.length > 0,
      );
      child.kill('SIGKILL');
      expect(await exited).toBe('SIGKILL');
      await lanes;
    } finally {
      // A failure before the kill must not leave the listener running.
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    }
    expect(unexpected).toEqual([]);
    // Every answer before the kill was a signature (no 429, no 5xx).
    expect(others).toEqual([]);
    expect(received.length).toBeGreaterThanOrEqual(RECEIVED);
    // Requests were in flight when the listener died: each lane ended on a connection error,
    // and some of them on a request the listener had taken and never answered.
    expect(dropped).toHaveLength(8);
    expect(dropped.filter((c) => c !== 'ECONNREFUSED').length).toBeGreaterThan(0);
    // The count is of real signatures: each verifies over the data sent.
    const forged = received.filter(
      (s) => !verify('sha256', s.data, { key: publicKey, dsaEncoding: 'der' }, s.signature),
    );
    expect(forged).toHaveLength(0);

    hsm = await Hsm.open(store, masterKey);
    try {
      const audit = await hsm.verifyAudit();
      expect(audit.ok).toBe(true);
      const key = await hsm.key('default', LABEL);
      const signed = new Set<number>();
      for await (const e of hsm.exportAudit()) {
        if (e.action !== 'key.sign' || e.outcome !== 'success' || e.keyId !== key.id) continue;
        expect(e.details).toMatchObject({ label: LABEL, mode: 'data' });
        signed.add(e.details['bytes'] as number);
      }
      expect(signed.size).toBeGreaterThanOrEqual(received.length);
      const missing = received.map((s) => s.data.length).filter((n) => !signed.has(n));
      expect(missing).toEqual([]);
    } finally {
      await hsm.close();
    }
  }, 60_000);
});
