// The store's edges through the operator CLI as subprocesses: file modes after init into an
// existing 0755 folder, the audit principal, refused attestations of a fabricated key row,
// restore/purge/delete racing in two processes, and rollback detection with a recorded head.
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { generateKeyPairSync } from 'node:crypto';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { Hsm, type MasterKeyInput } from '../../src/hsm/index.js';
import { fromHex } from '../../src/shared/index.js';
import { runCli, runCliAsync } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { runVerify } from '../helpers/verify.js';

let cwd: string;
let officerEnv: Record<string, string>;

const STORE = (): string => join(cwd, 'data/attestamp.sqlite');

function cli(args: string[], env: Record<string, string> = {}) {
  return runCli(args, { cwd, env });
}

function masterKey(): MasterKeyInput {
  const key = fromHex(readFileSync(join(cwd, 'data/master.key'), 'utf8').trim());
  if (key === undefined) throw new Error('bad master key file');
  return { kind: 'key', key };
}

beforeAll(() => {
  cwd = tempDir();
  // An existing, world-readable data folder: init must close it down.
  mkdirSync(join(cwd, 'data'), { mode: 0o755 });
  expect(statSync(join(cwd, 'data')).mode & 0o777).toBe(0o755);
  const r = cli(['init']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  officerEnv = {
    ATTESTAMP_OFFICER_PASSPHRASE: readFileSync(join(cwd, 'data/officer.passphrase'), 'utf8').trim(),
  };
});

describe('file modes', () => {
  it('init into an existing 0755 folder leaves the folder 0700 and every store file 0600', () => {
    expect(statSync(join(cwd, 'data')).mode & 0o777).toBe(0o700);
    for (const f of ['attestamp.sqlite', 'attestamp.sqlite-wal', 'attestamp.sqlite-shm']) {
      const path = join(cwd, 'data', f);
      if (existsSync(path)) expect(statSync(path).mode & 0o777, f).toBe(0o600);
    }
    expect(statSync(STORE()).mode & 0o777).toBe(0o600);
    expect(statSync(join(cwd, 'data/master.key')).mode & 0o777).toBe(0o600);
  });
});

describe('the audit principal', () => {
  it('is cli:<os user> for local calls, whatever ATTESTAMP_ACTOR says', () => {
    expect(
      cli(['key', 'generate', 'default', '--label', 'who', '--algorithm', 'ed25519'], {
        ATTESTAMP_ACTOR: 'mallory',
      }).code,
    ).toBe(0);
    const log = cli(['audit', 'export'])
      .stdout.trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { action: string; actor: string; details: { label?: string } });
    const entry = log.find((e) => e.action === 'key.generate' && e.details.label === 'who');
    expect(entry?.actor).toBe(`cli:${userInfo().username}`);
    expect(log.map((e) => e.actor)).not.toContain('mallory');
  });
});

describe('a fabricated key row', () => {
  it('is neither attested as evidence nor as a certificate (exit 4, nothing written)', () => {
    const attacker = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({
      type: 'spki',
      format: 'der',
    });
    expect(
      cli(['key', 'generate', 'default', '--label', 'real', '--algorithm', 'ecdsa-p256']).code,
    ).toBe(0);
    const db = new Database(STORE());
    try {
      const src = db.prepare("SELECT * FROM keys WHERE label = 'real'").get() as Record<
        string,
        unknown
      >;
      db.prepare(
        `INSERT INTO keys (id, partition_id, label, role, algorithm, spki, attributes_json, state, created_at, invalidated_at, wrapped, audit_seq, mac)
         VALUES ('00000000-0000-4000-8000-00000000beef', @partition_id, 'fake', 'user', @algorithm, @spki, @attributes_json, 'active', @created_at, NULL, @wrapped, @audit_seq, @mac)`,
      ).run({ ...src, spki: attacker });
    } finally {
      db.close();
    }
    for (const format of ['evidence', 'certificate']) {
      const out = join(cwd, `fake-${format}.pem`);
      const r = cli(['key', 'attest', 'default', 'fake', '--format', format, '--out', out]);
      expect(r.code, format).toBe(4);
      expect(r.stderr).toContain('[integrity-failed]');
      expect(r.stdout).toBe('');
      expect(existsSync(out)).toBe(false);
    }
    // Nor can the real key's evidence be passed off as the attacker's: --expect-spki fails it.
    expect(cli(['key', 'attest', 'default', 'real', '--out', 'real-evidence.pem']).code).toBe(0);
    writeFileSync(
      join(cwd, 'attacker.pem'),
      `-----BEGIN PUBLIC KEY-----\n${attacker.toString('base64')}\n-----END PUBLIC KEY-----\n`,
    );
    const v = runVerify(
      [
        'evidence',
        'real-evidence.pem',
        '--anchor',
        'data-factory/root.pem',
        '--allow-software',
        '--expect-spki',
        'attacker.pem',
        '--json',
      ],
      { cwd },
    );
    expect(v.code).not.toBe(0);
    const report = JSON.parse(v.stdout) as { checks: { id: string; status: string }[] };
    expect(report.checks.find((c) => c.id === 'key.binding')?.status).toBe('fail');
    const failures = cli(['audit', 'export'])
      .stdout.trim()
      .split('\n')
      .map(
        (l) =>
          JSON.parse(l) as {
            action: string;
            outcome: string;
            details: { code?: string; label?: string };
          },
      )
      .filter((e) => e.action === 'key.attest' && e.details.label === 'fake');
    expect(failures.map((e) => [e.outcome, e.details.code])).toEqual([
      ['failure', 'integrity-failed'],
      ['failure', 'integrity-failed'],
    ]);
    const clean = new Database(STORE());
    clean.prepare("DELETE FROM keys WHERE label = 'fake'").run();
    clean.close();
  });
});

/** Rounds of each race: enough to interleave, bounded to keep the suite short. */
const RACE_ROUNDS = 6;

interface Outcome {
  readonly success: number;
  readonly actions: string[];
}

function keyLog(keyId: string): Outcome {
  const db = new Database(STORE(), { readonly: true });
  try {
    const rows = db
      .prepare("SELECT action, outcome FROM audit WHERE key_id = ? AND action != 'key.generate'")
      .all(keyId) as { action: string; outcome: string }[];
    return {
      success: rows.filter((r) => r.outcome === 'success').length,
      actions: rows.filter((r) => r.outcome === 'success').map((r) => r.action),
    };
  } finally {
    db.close();
  }
}

function keyState(keyId: string): string | undefined {
  const db = new Database(STORE(), { readonly: true });
  try {
    const row = db.prepare('SELECT state FROM keys WHERE id = ?').get(keyId) as
      { state: string } | undefined;
    return row?.state;
  } finally {
    db.close();
  }
}

describe('two processes racing on one key', () => {
  it(`restore against purge, ${RACE_ROUNDS} rounds: exactly one wins and the log says which`, async () => {
    const hsm = await Hsm.open(STORE(), masterKey());
    const ids: string[] = [];
    try {
      for (let i = 0; i < RACE_ROUNDS; i++) {
        const k = await hsm.generateKey('default', { label: `rp${i}`, algorithm: 'ed25519' });
        await hsm.deleteKey('default', `rp${i}`);
        ids.push(k.id);
      }
    } finally {
      await hsm.close();
    }
    const tally = { restore: 0, purge: 0 };
    for (let i = 0; i < RACE_ROUNDS; i++) {
      const [restore, purge] = await Promise.all([
        runCliAsync(['key', 'restore', 'default', `rp${i}`, '--json'], { cwd, env: officerEnv }),
        runCliAsync(['key', 'purge', 'default', `rp${i}`, '--json'], { cwd, env: officerEnv }),
      ]);
      const wins = [restore.code, purge.code].filter((c) => c === 0).length;
      expect(wins, `${restore.stderr} ${purge.stderr}`).toBe(1);
      const log = keyLog(ids[i]!);
      expect(log.success - 1, 'one change beside the invalidation').toBe(1);
      if (restore.code === 0) {
        tally.restore++;
        expect(purge.code).toBe(2);
        expect(purge.stderr).toContain('[key-not-invalidated]');
        expect(keyState(ids[i]!)).toBe('active');
        expect(log.actions).toEqual(['key.invalidate', 'key.restore']);
      } else {
        tally.purge++;
        expect(restore.code).toBe(3);
        expect(restore.stderr).toContain('[key-not-found]');
        expect(keyState(ids[i]!)).toBeUndefined();
        expect(log.actions).toEqual(['key.invalidate', 'key.purge']);
      }
    }
    expect(tally.restore + tally.purge).toBe(RACE_ROUNDS);
    expect(cli(['audit', 'verify']).code).toBe(0);
  });

  it(`delete against delete, ${RACE_ROUNDS} rounds: one invalidation each`, async () => {
    const hsm = await Hsm.open(STORE(), masterKey());
    const ids: string[] = [];
    try {
      for (let i = 0; i < RACE_ROUNDS; i++) {
        ids.push((await hsm.generateKey('default', { label: `dd${i}`, algorithm: 'ed25519' })).id);
      }
    } finally {
      await hsm.close();
    }
    for (let i = 0; i < RACE_ROUNDS; i++) {
      const results = await Promise.all([
        runCliAsync(['key', 'delete', 'default', `dd${i}`], { cwd }),
        runCliAsync(['key', 'delete', 'default', `dd${i}`], { cwd }),
      ]);
      expect(results.map((r) => r.code).sort()).toEqual([0, 2]);
      expect(results.find((r) => r.code === 2)?.stderr).toContain('[key-invalidated]');
      expect(keyLog(ids[i]!).actions).toEqual(['key.invalidate']);
      expect(keyState(ids[i]!)).toBe('invalidated');
    }
  });
});

describe('rollback detection with a recorded head', () => {
  it('audit head prints SEQ:HASH; verify --expect-head passes while the log extends it', () => {
    const r = cli(['audit', 'head']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^[1-9][0-9]*:[0-9a-f]{64}\n$/);
    const json = JSON.parse(cli(['audit', 'head', '--json']).stdout) as {
      seq: number;
      hash: string;
      head: string;
    };
    expect(json.head).toBe(r.stdout.trim());
    expect(json.head).toBe(`${json.seq}:${json.hash}`);
    expect(cli(['audit', 'verify', '--expect-head', json.head]).code).toBe(0);
    expect(
      cli(['key', 'generate', 'default', '--label', 'later', '--algorithm', 'ed25519']).code,
    ).toBe(0);
    expect(cli(['audit', 'verify', '--expect-head', json.head]).code).toBe(0);
    expect(cli(['audit', 'verify', '--expect-head', 'nonsense']).code).toBe(64);
  });

  it('an older copy of the whole store put back: verify exits 6, serve refuses to start', () => {
    const backup = join(cwd, 'backup.sqlite');
    copyFileSync(STORE(), backup);
    expect(
      cli(['key', 'generate', 'default', '--label', 'after', '--algorithm', 'ed25519']).code,
    ).toBe(0);
    const head = cli(['audit', 'head']).stdout.trim();
    // The attacker puts back the older copy (a valid store, chain and MACs intact).
    for (const suffix of ['-wal', '-shm']) rmSync(STORE() + suffix, { force: true });
    copyFileSync(backup, STORE());
    expect(cli(['audit', 'verify']).code).toBe(0);
    const v = cli(['audit', 'verify', '--expect-head', head, '--json']);
    expect(v.code).toBe(6);
    expect(JSON.parse(v.stdout)).toMatchObject({ ok: true, expectedHead: { extended: false } });
    const serve = cli(['serve', '--port', '0', '--expect-audit-head', head]);
    expect(serve.code).toBe(6);
    expect(serve.stderr).toContain('[audit-head-mismatch]');
    expect(cli(['serve', '--port', '0', '--expect-audit-head', 'x']).code).toBe(64);
  });
});
