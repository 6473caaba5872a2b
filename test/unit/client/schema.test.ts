// The committed client types (src/client/schema.ts) are exactly what openapi-typescript makes of
// api/openapi.yaml today: a change to the document without `npm run generate:client` fails here.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { generatedSchema, SCHEMA_FILE } from '../../../scripts/generate-client.js';

describe('src/client/schema.ts', () => {
  it('is the generator output for the current OpenAPI document (run npm run generate:client)', async () => {
    const expected = await generatedSchema();
    expect(expected).toContain("'/v1/partitions/{partition}/keys'");
    expect(readFileSync(SCHEMA_FILE, 'utf8') === expected, 'schema.ts is stale').toBe(true);
  }, 60_000);
});
