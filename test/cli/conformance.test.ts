/**
 * libvirt's virshtest cases for snapshots, against a real virtsnapd on a fresh
 * state directory, compared byte for byte. The data is read from ../shared
 * (never copied here); a difference is a CLI bug, not a reason to edit it.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { filterLine, repoRoot, runCliProcess, startCliDaemon, type CliDaemon } from '../helpers/cli-daemon.js';

const dataDir = path.resolve(repoRoot, '../shared/conformance/libvirt/tests/virshtestdata');
const read = (name: string) => readFileSync(path.join(dataDir, name), 'utf8');

/** virshtest appends the exit status when it is not 0. */
function withStatus(r: { output: string; status: number | null }): string {
  return r.status === 0 ? r.output : `${r.output}\n## Exit code: ${r.status}\n`;
}

const VIRSH_DEFAULT = ['--connect', 'test:///default'];

describe('virshtest conformance (snapshot*)', () => {
  let d: CliDaemon;
  beforeEach(async () => {
    d = await startCliDaemon();
  });
  afterEach(async () => {
    await d.stop();
  });

  it('snapshot.in -> snapshot.out (filtered from <creationTime)', async () => {
    const r = await runCliProcess([...VIRSH_DEFAULT, read('snapshot.in')], { socket: d.socket });
    expect(filterLine(withStatus(r), '<creationTime')).toBe(read('snapshot.out'));
  });

  it('the redefine sequence -> snapshot-redefine.out (unfiltered)', async () => {
    const script =
      `cd ${dataDir} ;` +
      "echo 'Redefine must be in topological order; this will fail' ;" +
      'snapshot-create test --redefine snapshot-s2.xml --validate ;' +
      "echo 'correct order' ;" +
      'snapshot-create test --redefine snapshot-s3.xml --validate ;' +
      'snapshot-create test --redefine snapshot-s2.xml --current --validate ;' +
      'snapshot-info test --current';
    const r = await runCliProcess([...VIRSH_DEFAULT, script], { socket: d.socket });
    expect(withStatus(r)).toBe(read('snapshot-redefine.out'));
  });

  it('the redefined s3 dumps back with its own creationTime', async () => {
    const script = `cd ${dataDir} ;snapshot-create test --redefine snapshot-s3.xml ;snapshot-dumpxml test s3`;
    const r = await runCliProcess(['-q', ...VIRSH_DEFAULT, script], { socket: d.socket });
    expect(r.status).toBe(0);
    expect(r.output).toBe(read('snapshot-s3.xml'));
  });

  it('snapshot-create-args.in -> snapshot-create-args.out (-q)', async () => {
    const r = await runCliProcess([...VIRSH_DEFAULT, '-q', read('snapshot-create-args.in')], { socket: d.socket });
    expect(withStatus(r)).toBe(read('snapshot-create-args.out'));
  });

  it('the scenario fed on stdin (no command argument) gives the same output', async () => {
    const r = await runCliProcess(VIRSH_DEFAULT, { socket: d.socket, input: read('snapshot.in') });
    expect(filterLine(withStatus(r), '<creationTime')).toBe(read('snapshot.out'));
  });
});
