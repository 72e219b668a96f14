/**
 * CLI start-up against virsh, with hyperfine:
 *
 *   node dist/bench/cli-startup.js [--runs N]
 *
 * Starts a virtsnapd on a temporary socket (the test domain, no snapshots) and
 * times `node -e 0` (the floor any Node program pays), `virtsnap --version`,
 * `virtsnap snapshot-list test`, ten snapshot-lists in one virtsnap process,
 * and the same two for `virsh -c test:///default`, whose test driver runs
 * inside virsh (no daemon, no socket). Prints mean, min and CPU (user + system)
 * per command: on a loaded machine the wall times swell with the wait for a CPU,
 * the CPU time much less.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot, spawnDaemon } from '../tools/daemon-process.js';

interface HyperfineResult {
  command: string;
  mean: number;
  min: number;
  user: number;
  system: number;
}

const { values } = parseArgs({ options: { runs: { type: 'string', default: '40' } } });
const cli = `node ${path.join(repoRoot(), 'dist', 'client', 'cli', 'main.js')}`;
const ten = Array.from({ length: 10 }, () => 'snapshot-list test').join('; ');
const commands: Array<[string, string]> = [
  ['node -e 0', 'node -e 0'],
  ['virtsnap --version', `${cli} --version`],
  ['virtsnap snapshot-list test', `${cli} snapshot-list test`],
  ['virsh -c test:///default snapshot-list test', 'virsh -c test:///default snapshot-list test'],
  ['virtsnap \'snapshot-list test; ... (10x)\'', `${cli} '${ten}'`],
  ['virsh -c test:///default \'snapshot-list test; ... (10x)\'', `virsh -c test:///default '${ten}'`],
];

for (const tool of ['hyperfine', 'virsh']) {
  if (spawnSync(tool, ['--version'], { stdio: 'ignore' }).status !== 0) {
    process.stderr.write(`${tool} is needed (apt-get install hyperfine libvirt-clients)\n`);
    process.exit(2);
  }
}
const dir = mkdtempSync(path.join(os.tmpdir(), 'virtsnap-startup-'));
const socket = path.join(dir, 'sock');
const daemon = await spawnDaemon(socket, path.join(dir, 'state'));
try {
  const json = path.join(dir, 'hyperfine.json');
  const r = spawnSync('hyperfine', ['-N', '--warmup', '5', '--runs', values.runs!, '--export-json', json, ...commands.map(([, c]) => c)], {
    env: { ...process.env, VIRTSNAP_SOCKET: socket }, stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (r.status !== 0) throw new Error(`hyperfine failed (${r.status})`);
  const results = (JSON.parse(readFileSync(json, 'utf8')) as { results: HyperfineResult[] }).results;
  const ms = (s: number) => `${(s * 1000).toFixed(1)} ms`;
  console.log(`load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}, ${os.cpus().length} CPUs, ${values.runs} runs each`);
  console.log('| command | mean | min | CPU (user + sys) |');
  console.log('|---|---|---|---|');
  results.forEach((res, i) => console.log(`| \`${commands[i][0]}\` | ${ms(res.mean)} | ${ms(res.min)} | ${ms(res.user + res.system)} |`));
} finally {
  daemon.proc.kill('SIGTERM');
  await daemon.exited;
  rmSync(dir, { recursive: true, force: true });
}
