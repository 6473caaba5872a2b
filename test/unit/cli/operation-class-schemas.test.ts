// The --json schemas that enumerate quorum operation classes list every class the HSM has: a
// class added to OPERATION_CLASSES without its schemas makes `quorum show --json` documents
// fail their own schema.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { OPERATION_CLASSES } from '../../../src/hsm/index.js';

const SCHEMAS = ['quorum-show', 'quorum-set', 'approval-request'];

/** Every enum in a JSON document that holds a quorum operation class. */
function classEnums(node: unknown, out: string[][] = []): string[][] {
  if (Array.isArray(node)) {
    for (const item of node) classEnums(item, out);
  } else if (typeof node === 'object' && node !== null) {
    for (const [key, value] of Object.entries(node)) {
      if (key === 'enum' && Array.isArray(value) && value.includes('policy.change')) {
        out.push(value as string[]);
      } else {
        classEnums(value, out);
      }
    }
  }
  return out;
}

describe('operation classes in the CLI schemas', () => {
  for (const name of SCHEMAS) {
    it(`${name}.schema.json lists every operation class`, () => {
      const schema: unknown = JSON.parse(
        readFileSync(new URL(`../../../schemas/cli/${name}.schema.json`, import.meta.url), 'utf8'),
      );
      const enums = classEnums(schema);
      expect(enums.length).toBeGreaterThan(0);
      for (const values of enums)
        expect(values).toEqual(expect.arrayContaining([...OPERATION_CLASSES]));
    });
  }
});
