// Validates an OpenAPI document with a reference validator (@apidevtools/swagger-parser: the
// OpenAPI 3.0 JSON Schema, then the rules the schema cannot say, such as unique operation
// parameters and resolvable $refs).
//
//   node validate.mjs FILE           exit 0 and "FILE: valid OpenAPI 3.0.x", or exit 1 with
//                                    every problem the validator reports
//   node validate.mjs --routes FILE  validates, then prints the routes FILE documents as JSON:
//                                    {"routes": [{"path", "listener", "methods", "params"}]}
//
// A path's listener is "admin" when its own `servers` name the admin listener (a URL with the
// admin port of the document's servers, or a description that says "admin listener"), else
// "public". `params` gives each path parameter's enum, example or pattern, so that a test can
// fill the path in.
import SwaggerParser from '@apidevtools/swagger-parser';

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

function listenerOf(item) {
  const servers = item.servers || [];
  const admin = servers.some((s) => /admin listener/i.test(s.description || '') || /:8081\b/.test(s.url || ''));
  return admin ? 'admin' : 'public';
}

function pathParams(item, operation) {
  const params = {};
  for (const p of [...(item.parameters || []), ...(operation.parameters || [])]) {
    if (p.in !== 'path') continue;
    const schema = p.schema || {};
    params[p.name] = {
      enum: schema.enum || null,
      example: p.example ?? schema.example ?? null,
      pattern: schema.pattern || null,
    };
  }
  return params;
}

async function main(argv) {
  const routes = argv[0] === '--routes';
  const file = routes ? argv[1] : argv[0];
  if (!file) {
    console.error('usage: node validate.mjs [--routes] FILE');
    return 2;
  }
  let api;
  try {
    api = await SwaggerParser.validate(file);
  } catch (e) {
    console.error(`${file}: not valid OpenAPI:\n${e.message}`);
    return 1;
  }
  if (!routes) {
    console.log(`${file}: valid OpenAPI ${api.openapi}`);
    return 0;
  }
  const out = [];
  for (const [path, item] of Object.entries(api.paths || {})) {
    const methods = METHODS.filter((m) => item[m]);
    const params = {};
    for (const m of methods) Object.assign(params, pathParams(item, item[m]));
    out.push({ path, listener: listenerOf(item), methods, params });
  }
  console.log(JSON.stringify({ routes: out }));
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
