// The committed key attestation corpus: regenerated with UPDATE_VECTORS=1, otherwise checked to be
// complete (every declared case present with exactly its files, args.json and expect.json as
// declared, nothing stray, no private key anywhere).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodePemAll } from '../../../src/pki/index.js';
import { CASES, casesOnDisk, generateCorpus } from './corpus.js';

const DIR = import.meta.dirname;
const UPDATE = process.env.UPDATE_VECTORS === '1';

describe('key attestation corpus', () => {
  it.runIf(UPDATE)('regenerates every case (UPDATE_VECTORS=1)', async () => {
    await generateCorpus(DIR);
  });

  it('holds exactly the declared cases', () => {
    const declared = CASES.map((c) => `${c.set}/${c.name}`).sort();
    expect(new Set(declared).size).toBe(declared.length);
    expect(casesOnDisk(DIR).sort()).toEqual(declared);
  });

  it.each(CASES.map((c) => [`${c.set}/${c.name}`, c] as const))(
    '%s has its files, args.json and expect.json',
    (path, c) => {
      const folder = join(DIR, path);
      expect(readdirSync(folder).sort()).toEqual([...c.files, 'args.json', 'expect.json'].sort());
      expect(JSON.parse(readFileSync(join(folder, 'expect.json'), 'utf8'))).toEqual(c.expect);
      expect(JSON.parse(readFileSync(join(folder, 'args.json'), 'utf8'))).toEqual(c.args);
      for (const f of c.files.filter((n) => n.endsWith('.pem'))) {
        const blocks = decodePemAll(readFileSync(join(folder, f), 'utf8'));
        expect(blocks.length).toBeGreaterThan(0);
        expect(blocks.map((b) => b.label)).not.toContain('PRIVATE KEY');
      }
      if (c.files.includes('anchor-sha256.txt')) {
        expect(readFileSync(join(folder, 'anchor-sha256.txt'), 'utf8')).toMatch(/^[0-9a-f]{64}\n$/);
      }
    },
  );

  it('README.md lists every case', () => {
    const readme = readFileSync(join(DIR, 'README.md'), 'utf8');
    const missing = CASES.map((c) => `${c.set}/${c.name}`).filter(
      (p) => !readme.includes(`\`${p}\``),
    );
    expect(missing).toEqual([]);
  });

  it('valid cases expect verification and invalid ones a failure', () => {
    for (const c of CASES) {
      if (c.set === 'valid') expect(c.expect, c.name).toMatchObject({ exitCode: 0 });
      else expect(c.expect.exitCode, c.name).not.toBe(0);
    }
  });
});
