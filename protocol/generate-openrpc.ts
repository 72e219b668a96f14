/** `npm run gen:openrpc`: writes protocol/openrpc.json from the table. */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { openRpcJson } from './openrpc.js';

const here = path.dirname(fileURLToPath(import.meta.url));
// Compiled into dist/protocol; the checked-in document lives in protocol/.
const target = path.resolve(here, '..', '..', 'protocol', 'openrpc.json');
writeFileSync(target, openRpcJson());
console.log(`wrote ${target}`);
