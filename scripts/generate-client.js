// Generates src/client/schema.ts, the TypeScript types of the REST API's OpenAPI document
// (api/openapi.yaml), with openapi-typescript; `--check` fails when the committed file is stale.
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import openapiTS, { astToString } from 'openapi-typescript';
import { format, resolveConfig } from 'prettier';

const ROOT = resolve(import.meta.dirname, '..');
export const DOCUMENT = resolve(ROOT, 'api/openapi.yaml');
export const SCHEMA_FILE = resolve(ROOT, 'src/client/schema.ts');

const HEADER = `// The REST API's types, generated from api/openapi.yaml by \`npm run generate:client\`
// (openapi-typescript): do not edit by hand; a unit test fails when this file is stale.
`;

/** The text schema.ts must have for the document as it is now (formatted as the project's). */
export async function generatedSchema() {
  const ast = await openapiTS(pathToFileURL(DOCUMENT), { alphabetize: false });
  const text = HEADER + astToString(ast);
  const options = (await resolveConfig(SCHEMA_FILE)) ?? {};
  return format(text, { ...options, filepath: SCHEMA_FILE });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const text = await generatedSchema();
  if (process.argv.includes('--check')) {
    if (readFileSync(SCHEMA_FILE, 'utf8') !== text) {
      process.stderr.write('src/client/schema.ts is stale: run npm run generate:client\n');
      process.exit(1);
    }
  } else {
    writeFileSync(SCHEMA_FILE, text);
  }
}
