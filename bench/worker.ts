/**
 * A bench client process (throughput runs use separate processes so that the
 * clients do not share the bench's event loop). Started with a JSON job in
 * argv[2]; connects, says 'ready', waits for 'go', runs a closed loop (one
 * request in flight) for `durationMs`, then sends back its count and latencies.
 */
import { RawRpcClient } from './rpc-client.js';
import { echoParams } from './echo-server.js';

export interface WorkerJob {
  socket: string;
  kind: 'lookup' | 'echo' | 'create';
  domain?: string;
  snapshot?: string;
  requestBytes?: number;
  replyBytes?: number;
  durationMs: number;
}

export interface WorkerResult {
  ops: number;
  errors: number;
  elapsedMs: number;
  firstError?: string;
}

async function run(job: WorkerJob): Promise<void> {
  const client = await RawRpcClient.connect(job.socket);
  process.send!('ready');
  await new Promise<void>((resolve) => process.once('message', () => resolve()));
  let ops = 0;
  let errors = 0;
  let firstError: string | undefined;
  const start = performance.now();
  const end = start + job.durationMs;
  let id = 1;
  while (performance.now() < end) {
    let r;
    if (job.kind === 'echo') {
      r = await client.call('echo', echoParams(job.requestBytes!, job.replyBytes!, id++));
    } else if (job.kind === 'lookup') {
      r = await client.call('virDomainSnapshotLookupByName', { domain: job.domain, snapshot: job.snapshot, flags: 0 });
    } else {
      r = await client.call('virDomainSnapshotCreateXML', { domain: job.domain, xml: '<domainsnapshot/>', flags: 0 });
    }
    if (r.error) {
      errors++;
      firstError ??= r.error.message;
    } else {
      ops++;
    }
  }
  const result: WorkerResult = { ops, errors, elapsedMs: performance.now() - start, firstError };
  process.send!(result, () => {
    client.close();
    process.exit(0);
  });
}

void run(JSON.parse(process.argv[2]!) as WorkerJob);
