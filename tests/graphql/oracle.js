#!/usr/bin/env node
// The reference side of the GraphQL differential test (tests/graphql/differential.py): runs each
// case of the given case files through graphql-js (the version pinned by package-lock.json) and
// prints one JSON array of {"name", "result"} in case order, one case per line.
//
//   node tests/graphql/oracle.js tests/graphql/cases/a.json [more.json ...]
//
// result is {"schema_errors": [messages]} when the case's schema does not build or is invalid,
// otherwise what graphql({schema, source: query, rootValue, variableValues: variables,
// operationName}) resolves to: {"data": ... (when present), "errors": [{message, locations, path}]
// (when present; locations and path only when the error has them)}.
'use strict';

const fs = require('fs');
const path = require('path');
const { graphql, parse, buildASTSchema, validateSchema, version } = require('graphql');
const { validateSDL } = require('graphql/validation/validate');

const SCHEMAS_DIR = path.join(__dirname, 'schemas');
const KNOWN_KEYS = new Set(['name', 'schema', 'schema_file', 'query', 'variables', 'operationName', 'rootValue']);

function fail(message) {
  process.stderr.write(`oracle.js: ${message}\n`);
  process.exit(2);
}

// SDL text -> {schema} or {schema_errors}; one build per distinct SDL.
const schemaCache = new Map();
function buildCaseSchema(sdl) {
  if (schemaCache.has(sdl)) return schemaCache.get(sdl);
  let built;
  try {
    const document = parse(sdl);
    const sdlErrors = validateSDL(document);
    if (sdlErrors.length > 0) {
      built = { schema_errors: sdlErrors.map((e) => e.message) };
    } else {
      const schema = buildASTSchema(document, { assumeValidSDL: true });
      const errors = validateSchema(schema);
      built = errors.length > 0 ? { schema_errors: errors.map((e) => e.message) } : { schema };
    }
  } catch (e) {
    built = { schema_errors: [String(e && e.message !== undefined ? e.message : e)] };
  }
  schemaCache.set(sdl, built);
  return built;
}

function caseSdl(c, file) {
  if (typeof c.schema === 'string' && c.schema_file === undefined) return c.schema;
  if (typeof c.schema_file === 'string' && c.schema === undefined) {
    const p = path.join(SCHEMAS_DIR, c.schema_file);
    if (!fs.existsSync(p)) fail(`${file}: case "${c.name}": no schema file ${p}`);
    return fs.readFileSync(p, 'utf8');
  }
  return fail(`${file}: case "${c.name}": exactly one of "schema" and "schema_file" is needed`);
}

function errorJson(e) {
  const out = { message: e.message };
  if (e.locations && e.locations.length > 0) out.locations = e.locations.map(({ line, column }) => ({ line, column }));
  if (e.path && e.path.length > 0) out.path = e.path;
  return out;
}

async function runCase(c, file) {
  const built = buildCaseSchema(caseSdl(c, file));
  if (built.schema_errors) return { schema_errors: built.schema_errors };
  const result = await graphql({
    schema: built.schema,
    source: c.query,
    rootValue: c.rootValue,
    variableValues: c.variables,
    operationName: c.operationName,
  });
  const out = {};
  if ('data' in result) out.data = result.data;
  if (result.errors) out.errors = result.errors.map(errorJson);
  return out;
}

async function main() {
  const files = process.argv.slice(2);
  if (files.length === 0) fail('usage: node oracle.js cases.json [more.json ...]');
  if (version !== '16.9.0') fail(`graphql-js ${version} installed, the corpus is for 16.9.0 (npm ci in tests/graphql)`);
  const seen = new Map();
  const lines = [];
  for (const file of files) {
    let cases;
    try {
      cases = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (e) {
      fail(`${file}: ${e.message}`);
    }
    if (!Array.isArray(cases)) fail(`${file}: not a JSON array`);
    for (const c of cases) {
      if (c === null || typeof c !== 'object' || typeof c.name !== 'string' || typeof c.query !== 'string') {
        fail(`${file}: every case needs a string "name" and "query": ${JSON.stringify(c).slice(0, 200)}`);
      }
      for (const key of Object.keys(c)) {
        if (!KNOWN_KEYS.has(key)) fail(`${file}: case "${c.name}": unknown key "${key}"`);
      }
      if (seen.has(c.name)) fail(`${file}: case name "${c.name}" already used in ${seen.get(c.name)}`);
      seen.set(c.name, file);
      const result = await runCase(c, file);
      lines.push(JSON.stringify({ name: c.name, result }));
    }
  }
  process.stdout.write(lines.length === 0 ? '[]\n' : '[\n' + lines.join(',\n') + '\n]\n');
}

main().catch((e) => fail(e && e.stack ? e.stack : String(e)));
