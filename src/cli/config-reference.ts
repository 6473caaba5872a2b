// The config file's JSON Schema (draft 2020-12) and the README's settings table, both derived
// from the one settings table in config.ts so that neither can drift from what the loader reads.
import { ALL_FIELDS, configKey, valueHint, type Field } from './config.js';

type JsonSchema = Readonly<Record<string, unknown>>;

const UNIT_OBJECT: JsonSchema = {
  type: 'object',
  properties: {
    partition: { type: 'string', minLength: 1 },
    path: { type: 'string', pattern: '^/[A-Za-z0-9._~/-]*$' },
    policies: { type: 'array', items: { type: 'string', pattern: '^[0-2](\\.(0|[1-9]\\d*))+$' } },
  },
  required: ['partition'],
  additionalProperties: false,
};

function valueSchema(f: Field): JsonSchema {
  switch (f.kind) {
    case 'int':
      return {
        type: 'integer',
        minimum: f.min ?? 0,
        ...(f.max === undefined ? {} : { maximum: f.max }),
      };
    case 'bool':
      return { type: 'boolean' };
    case 'enum':
      return { enum: f.values ?? [] };
    case 'string':
      return { type: 'string', minLength: 1 };
    case 'list': {
      const item: JsonSchema = f.values === undefined ? { type: 'string' } : { enum: f.values };
      // The file may give the unit objects with their own policies.
      const items = f.flag === 'unit' ? { anyOf: [item, UNIT_OBJECT] } : item;
      return { anyOf: [{ type: 'string' }, { type: 'array', items }] };
    }
  }
}

/** The JSON Schema of the config file, one property per setting (null: unset, for optional ones). */
export function configJsonSchema(): JsonSchema {
  const properties: Record<string, JsonSchema> = {
    $schema: { type: 'string', description: 'where editors find this schema' },
  };
  for (const f of ALL_FIELDS) {
    const value = valueSchema(f);
    const withNull = f.default === undefined ? { anyOf: [value, { type: 'null' }] } : value;
    properties[configKey(f.flag)] = {
      description: `--${f.flag}, $${f.env}: ${f.description}`,
      ...withNull,
      ...(f.default === undefined ? {} : { default: f.default }),
    };
  }
  for (const f of ALL_FIELDS) {
    if (f.deprecatedKey === undefined) continue;
    properties[f.deprecatedKey] = {
      description: `deprecated: the former name of ${configKey(f.flag)}, read for one release with a warning`,
      deprecated: true,
      ...valueSchema(f),
    };
  }
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'https://attestamp.example/schemas/config.schema.json',
    title: 'attestamp serve and api configuration file',
    description:
      'Keys are the camelCase of the serve and api flags. Flags win over environment variables, which win over this file, which wins over the defaults.',
    type: 'object',
    properties,
    additionalProperties: false,
  };
}

/** The schema as kept in schemas/config.schema.json. */
export function configJsonSchemaText(): string {
  return JSON.stringify(configJsonSchema(), null, 2) + '\n';
}

function defaultText(f: Field): string {
  if (f.defaultText !== undefined) return f.defaultText;
  const d = f.default;
  if (d === undefined) return 'off';
  if (typeof d === 'boolean') return d ? '`on`' : '`off`';
  if (Array.isArray(d)) return d.length === 0 ? 'none' : `\`${d.join(',')}\``;
  return `\`${String(d)}\``;
}

function range(f: Field): string {
  if (f.kind !== 'int' || f.min === undefined || f.max === undefined) return '';
  return ` (${f.min}..${f.max})`;
}

/** The README's settings table (Markdown, before formatting). */
export function configReferenceTable(): string {
  const escape = (s: string): string => s.replace(/\|/g, '\\|');
  const rows = ALL_FIELDS.map((f) => {
    const repeat = f.kind === 'list' ? ' (repeatable)' : '';
    return [
      `\`--${f.flag} ${escape(valueHint(f))}\`${repeat}${range(f)}`,
      `\`${configKey(f.flag)}\`${f.deprecatedKey === undefined ? '' : ` (was \`${f.deprecatedKey}\`)`}`,
      `\`${f.env}\``,
      escape(defaultText(f)),
    ];
  });
  const lines = [
    ['flag', 'config key', 'environment', 'default'],
    ['---', '---', '---', '---'],
    ...rows,
  ].map((cells) => `| ${cells.join(' | ')} |`);
  return lines.join('\n') + '\n';
}
