#!/usr/bin/env node
/** virtsnap: the virsh-like CLI of virtsnapd. Kept tiny: everything else loads on demand. */
import { runCli } from './cli.js';

runCli(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: Error) => {
    process.stderr.write(`error: ${e.message}\n`);
    process.exit(1);
  },
);
