// Validates AsyncAPI documents with the official parser and its Avro schema parser.
// Usage: node validate.mjs <document>...; exit 1 on any error-severity diagnostic.
import { readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import path from 'node:path';
import { Parser, DiagnosticSeverity } from '@asyncapi/parser';
import { AvroSchemaParser } from '@asyncapi/avro-schema-parser';

const parser = new Parser();
parser.registerSchemaParser(AvroSchemaParser());
const severities = ['error', 'warning', 'information', 'hint'];
let failed = false;
for (const file of process.argv.slice(2)) {
  const text = await readFile(file, 'utf8');
  const { document, diagnostics } = await parser.parse(text, {
    source: pathToFileURL(path.resolve(file)).href,
  });
  // An error in a shared component repeats at every place that references it: show a few.
  const shown = diagnostics.slice(0, 25);
  for (const d of shown) {
    const where = d.path && d.path.length ? `#/${d.path.join('/')}` : '';
    console.log(`${file}${where}: ${severities[d.severity] ?? d.severity}: ${d.message} (${d.code})`);
  }
  if (diagnostics.length > shown.length) {
    console.log(`${file}: ... ${diagnostics.length - shown.length} more diagnostic(s)`);
  }
  if (!document || diagnostics.some((d) => d.severity === DiagnosticSeverity.Error)) {
    failed = true;
    console.log(`${file}: invalid`);
    continue;
  }
  const messages = document.allMessages().all();
  const operations = document.allOperations().all();
  for (const m of messages) {
    console.log(`${file}: message ${m.id()} payload ${m.payload()?.type() ?? '(none)'} (${m.schemaFormat()})`);
  }
  console.log(`${file}: valid AsyncAPI ${document.version()}: ${document.allChannels().length} channels, ${messages.length} messages, ${operations.length} operations`);
}
process.exit(failed ? 1 : 0);
