// The README's "Key algorithms" table names every key algorithm of the HSM, and no other: a key
// algorithm added without its row (operations, sizes, standards, backend, who else verifies), or
// a row left behind by a removed one, fails here.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { HSM_ALGORITHMS } from '../../../src/hsm/index.js';

const README = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');

/** The first-column names of the table under `### Key algorithms`, shorthands expanded. */
function tableAlgorithms(markdown: string): string[] {
  const start = markdown.indexOf('\n### Key algorithms\n');
  if (start < 0) throw new Error('README has no "### Key algorithms" section');
  const lines = markdown.slice(start).split('\n');
  const first = lines.findIndex((line) => line.startsWith('| algorithm'));
  if (first < 0) throw new Error('the "Key algorithms" section has no table');
  const names: string[] = [];
  for (const line of lines.slice(first + 2)) {
    if (!line.startsWith('|')) break;
    const cell = line.split('|')[1] ?? '';
    let previous: string | undefined;
    for (const [, name] of cell.matchAll(/`([^`]+)`/g)) {
      if (name === undefined) continue;
      if (name.startsWith('-')) {
        // `-sha384` after `hmac-sha256` is hmac-sha384: the shorthand replaces as many trailing
        // segments of the previous name as it has.
        if (previous === undefined) throw new Error(`shorthand ${name} with no name before it`);
        const segments = name.slice(1).split('-');
        const base = previous.split('-');
        names.push([...base.slice(0, base.length - segments.length), ...segments].join('-'));
      } else {
        names.push(name);
        previous = name;
      }
    }
  }
  return names;
}

describe('README key algorithms table', () => {
  it('expands the shorthands it uses', () => {
    const names = tableAlgorithms(
      '\n### Key algorithms\n\n| algorithm | x |\n| - | - |\n| `hmac-sha256`, `-sha384`, `hmac-sha3-256`, `-sha3-512` | y |\n| `slh-dsa-sha2-128f`, `-192f` | z |\n\nafter\n',
    );
    expect(names).toEqual([
      'hmac-sha256',
      'hmac-sha384',
      'hmac-sha3-256',
      'hmac-sha3-512',
      'slh-dsa-sha2-128f',
      'slh-dsa-sha2-192f',
    ]);
  });

  it('has one row entry for each key algorithm of the HSM, and none else', () => {
    const names = tableAlgorithms(README);
    expect(new Set(names).size).toBe(names.length);
    expect([...names].sort()).toEqual([...HSM_ALGORITHMS].sort());
  });
});
