// The suite's TypeScript types for taskwire's frames and HTTP bodies, generated from
// the JSON Schema the Rust types produce (docs/protocol.schema.json).
//
//   node scripts/protocol-types.mjs          writes tests/fixtures/protocol.ts
//   node scripts/protocol-types.mjs --check  fails if that file is stale
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { compile } from 'json-schema-to-typescript';

const schemaPath = fileURLToPath(new URL('../../docs/protocol.schema.json', import.meta.url));
const outPath = fileURLToPath(new URL('../tests/fixtures/protocol.ts', import.meta.url));

// The generator reads `definitions` (draft 7), names types by `title`, and would name
// every described reference anew: so definitions are renamed, references lose their
// descriptions, and titles are kept only on the root and on the definitions.
function prepare(node, keepTitle) {
  if (Array.isArray(node)) return node.map((n) => prepare(n, false));
  if (node === null || typeof node !== 'object') return node;
  // A reference with a description beside it would become a new type of its own.
  if (typeof node.$ref === 'string') return { $ref: node.$ref.replace('#/$defs/', '#/definitions/') };
  const out = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'title' && !keepTitle) continue;
    if (key === '$defs') {
      out.definitions = Object.fromEntries(
        Object.entries(value).map(([name, def]) => [name, { ...prepare(def, false), title: name }]),
      );
    } else if (key === 'properties') {
      out[key] = Object.fromEntries(
        Object.entries(value).map(([name, def]) => [name, prepare(def, false)]),
      );
    } else {
      out[key] = prepare(value, false);
    }
  }
  return out;
}

// The document's root is a frame; the generator only emits definitions it reaches from
// the root, so the types are generated from a root that names every definition.
const document = prepare(JSON.parse(readFileSync(schemaPath, 'utf8')), true);
const { definitions, $schema: _draft, ...frame } = document;
const names = ['Frame', ...Object.keys(definitions)];
const schema = {
  title: 'ProtocolTypes',
  description: 'Every type of the protocol by name (only a container for the generator).',
  type: 'object',
  properties: Object.fromEntries(names.map((n) => [n, { $ref: `#/definitions/${n}` }])),
  definitions: { ...definitions, Frame: frame },
};
const types = await compile(schema, 'ProtocolTypes', {
  bannerComment:
    '/* Generated from docs/protocol.schema.json by scripts/protocol-types.mjs; do not edit. */',
  additionalProperties: false,
  style: { singleQuote: true, printWidth: 100 },
});

if (process.argv.includes('--check')) {
  let committed = '';
  try {
    committed = readFileSync(outPath, 'utf8');
  } catch {
    // missing counts as stale
  }
  if (committed !== types) {
    console.error(
      'end2end/tests/fixtures/protocol.ts is stale: run `npm run types` in end2end and commit it',
    );
    process.exit(1);
  }
  console.log('protocol types: up to date');
} else {
  writeFileSync(outPath, types);
  console.log(`wrote ${outPath}`);
}
