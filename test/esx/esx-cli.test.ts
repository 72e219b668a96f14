/**
 * The virsh snapshot scenario through the real CLI (`virtsnap -c esx://...`)
 * against a real virtsnapd and vcsim, for the ESX and the vCenter model. What
 * the CLI prints is checked, and what the server holds is read back over SOAP
 * independently of the driver.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { runCliProcess } from '../helpers/cli-daemon.js';
import { ViClient } from '../../drivers/esx/vi-client.js';
import { findContainer, listVms } from '../../drivers/esx/vi-inventory.js';
import { parseEsxUri } from '../../drivers/esx/esx-uri.js';
import { ViSnapshotTree } from '../../drivers/esx/vi-snapshots.js';
import { VCSIM_MODELS as MODELS, vcsimUnavailable } from './vcsim.js';
import { vcsimWithDaemon } from './vcsim-daemon.js';

const unavailable = vcsimUnavailable();
if (unavailable) console.warn(`esx-cli tests skipped: ${unavailable}`);


describe.skipIf(unavailable !== undefined).each(MODELS)('virsh snapshot scenario on vcsim ($model)', ({ model, vm, uri }) => {
  const env = vcsimWithDaemon(model);
  let connect: string;
  beforeAll(() => {
    connect = uri(env.sim.port);
  });

  const virsh = (...args: string[]) => runCliProcess(['-c', connect, ...args], { socket: env.daemon.socket });

  /** The VM's snapshot names on the server, read without the driver's code paths for snapshots. */
  async function serverTree(): Promise<{ names: string[]; current: string | undefined }> {
    const parsed = parseEsxUri(new URL(connect))!;
    const vi = new ViClient({ url: parsed.sdkUrl, noVerify: true }, { username: 'user', password: 'pass' });
    await vi.connect();
    try {
      const found = (await listVms(vi, await findContainer(vi, parsed))).find((v) => v.name === vm)!;
      const [oc] = await vi.retrieve('VirtualMachine', [found.ref], ['snapshot']);
      const tree = new ViSnapshotTree(oc?.props.get('snapshot'));
      return { names: tree.all.map((s) => s.name), current: tree.current?.name };
    } finally {
      await vi.close();
    }
  }

  it('create, list --tree, current, parent, revert, delete --children', async () => {
    expect(await virsh('snapshot-create-as', vm, 's1', 'first one')).toEqual({ output: 'Domain snapshot s1 created\n', status: 0 });
    expect((await virsh('snapshot-create-as', vm, 's2')).output).toBe('Domain snapshot s2 created\n');
    expect((await virsh('snapshot-create-as', vm, 's3')).output).toBe('Domain snapshot s3 created\n');
    expect(await serverTree()).toEqual({ names: ['s1', 's2', 's3'], current: 's3' });

    expect((await virsh('snapshot-list', vm, '--tree')).output).toBe('s1\n  |\n  +- s2\n      |\n      +- s3\n        \n\n');
    expect((await virsh('snapshot-current', vm, '--name')).output).toBe('s3\n');
    expect((await virsh('snapshot-parent', vm, 's3')).output).toBe('s2\n');

    expect(await virsh('snapshot-revert', vm, 's1')).toEqual({ output: 'Domain snapshot s1 reverted\n\n', status: 0 });
    expect((await virsh('snapshot-current', vm, '--name')).output).toBe('s1\n');
    expect((await serverTree()).current).toBe('s1');

    // A child of s1 now that s1 is current: the tree branches.
    await virsh('snapshot-create-as', vm, 's4');
    expect((await virsh('snapshot-list', vm, '--tree')).output)
      .toBe('s1\n  |\n  +- s2\n  |   |\n  |   +- s3\n  |     \n  +- s4\n    \n\n');
    expect((await virsh('snapshot-list', vm, '--parent', '--name')).output).toBe('s1\ns2\ts1\ns3\ts2\ns4\ts1\n\n');

    expect(await virsh('snapshot-delete', vm, 's2', '--children')).toEqual({ output: 'Domain snapshot s2 deleted\n\n', status: 0 });
    expect((await serverTree()).names).toEqual(['s1', 's4']);
    expect((await virsh('snapshot-list', vm, '--name')).output).toBe('s1\ns4\n\n');

    const xml = (await virsh('snapshot-dumpxml', vm, 's1')).output;
    expect(xml).toMatch(/^<domainsnapshot>\n  <name>s1<\/name>\n  <description>first one<\/description>\n  <state>running<\/state>\n  <creationTime>\d+<\/creationTime>\n  <domain>\n    <uuid>[0-9a-f-]{36}<\/uuid>\n  <\/domain>\n<\/domainsnapshot>\n\n$/);
    expect((await virsh('snapshot-parent', vm, 's4')).output).toBe('s1\n');

    expect(await virsh('snapshot-delete', vm, 's1', '--children')).toEqual({ output: 'Domain snapshot s1 deleted\n\n', status: 0 });
    expect(await serverTree()).toEqual({ names: [], current: undefined });
    expect((await virsh('snapshot-list', vm, '--name')).output).toBe('\n');
  });

  it('revert --paused and --running leave the VM in that state', async () => {
    await virsh('snapshot-create-as', vm, 'r1');
    expect(await virsh('snapshot-revert', vm, 'r1', '--paused')).toEqual({ output: 'Domain snapshot r1 reverted\n\n', status: 0 });
    expect((await virsh('domstate', vm)).output).toBe('paused\n\n');
    expect(await virsh('snapshot-revert', vm, 'r1', '--running')).toEqual({ output: 'Domain snapshot r1 reverted\n\n', status: 0 });
    expect((await virsh('domstate', vm)).output).toBe('running\n\n');
    await virsh('destroy', vm);
    expect((await virsh('domstate', vm)).output).toBe('shut off\n\n');
    expect(await virsh('snapshot-revert', vm, 'r1', '--running')).toEqual({ output: 'Domain snapshot r1 reverted\n\n', status: 0 });
    expect((await virsh('domstate', vm)).output).toBe('running\n\n');
    await virsh('snapshot-delete', vm, 'r1');
  });

  it('lists the VMs the URI names', async () => {
    const names = async (u: string) => (await runCliProcess(['-c', u, 'list', '--all', '--name'], { socket: env.daemon.socket })).output.split('\n').filter((l) => l).sort();
    if (model === 'esx') {
      expect(await names(connect)).toEqual(['ha-host_VM0', 'ha-host_VM1']);
      return;
    }
    expect(await names(connect)).toEqual(['DC0_H0_VM0', 'DC0_H0_VM1']);
    expect(await names(`vpx://127.0.0.1:${env.sim.port}/DC0/DC0_C0?no_verify=1`)).toEqual(['DC0_C0_RP0_VM0', 'DC0_C0_RP0_VM1']);
    const perHost = await Promise.all([0, 1, 2].map((h) => names(`vpx://127.0.0.1:${env.sim.port}/DC0/DC0_C0/DC0_C0_H${h}?no_verify=1`)));
    expect(perHost.flat().sort()).toEqual(['DC0_C0_RP0_VM0', 'DC0_C0_RP0_VM1']);
  });

  it('refuses a duplicate name and an unknown snapshot with libvirt esx messages', async () => {
    await virsh('snapshot-create-as', vm, 'dup');
    expect(await virsh('snapshot-create-as', vm, 'dup')).toEqual({
      output: "error: Requested operation is not valid: Snapshot 'dup' already exists\n\n", status: 1,
    });
    expect((await serverTree()).names).toEqual(['dup']);
    expect(await virsh('snapshot-parent', vm, 'dup')).toEqual({ output: "error: snapshot 'dup' has no parent\n\n", status: 1 });
    expect(await virsh('snapshot-revert', vm, 'nope')).toMatchObject({ status: 1 });
    expect((await virsh('snapshot-dumpxml', vm, 'nope')).output).toBe("error: Domain snapshot not found: Could not find snapshot with name 'nope'\n\n");
    await virsh('snapshot-delete', vm, 'dup');
  });
});
