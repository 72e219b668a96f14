/**
 * The guest agent end to end: a real virtsnapd process on a real socket, the
 * compiled `virtsnap` CLI as a user types it, and qemu-ga inside a real Linux
 * guest (test/helpers/agent-guest.ts): `snapshot-create-as --disk-only
 * --quiesce`, its refusal without --disk-only, and `shutdown --mode agent`.
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { agentDomainXml, agentGuest, agentGuestMissing, GUEST_READY, HOOK_LINE, SHUTDOWN_LINE } from '../helpers/agent-guest.js';
import { runCliProcess } from '../helpers/cli-daemon.js';
import { startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { killQemusUnder, waitFor } from './driver-helpers.js';
import { makeDisk, makeTempDir, requireQemu, rmrf } from './helpers.js';

requireQemu();
const missing = agentGuestMissing();

describe.skipIf(missing !== undefined)(`virtsnapd + virtsnap CLI: the guest agent in a real guest${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let dir: string;
  let daemon: RunningDaemon | undefined;
  let serial: string;
  let disk: string;
  const cli = async (cmd: string) => runCliProcess(['-c', 'qemu:///session', cmd], { socket: daemon!.socket });
  const serialText = () => (fs.existsSync(serial) ? fs.readFileSync(serial, 'utf8') : '');

  beforeAll(async () => {
    const img = agentGuest(path.resolve('.cache'));
    dir = makeTempDir();
    disk = await makeDisk(dir, 'd.qcow2', '16M');
    serial = path.join(dir, 'serial.log');
    const xmlFile = path.join(dir, 'agentvm.xml');
    fs.writeFileSync(xmlFile, agentDomainXml({ name: 'agentvm', uuid: randomUUID(), disk, serial, socket: path.join(dir, 'agent.sock'),
      kernel: img.kernel, initrd: img.initrd, cmdline: img.cmdline }));
    daemon = await startDaemon({ dir: path.join(dir, 'd'), args: ['--default-uri', 'qemu:///session'] });
    const r = await cli(`define ${xmlFile}; start agentvm`);
    expect(r.output, r.output).toContain("Domain 'agentvm' started");
    await waitFor(() => serialText().includes(GUEST_READY), 240_000);
  }, 300_000);

  afterAll(async () => {
    await daemon?.stop();
    if (daemon) killQemusUnder(daemon.stateDir);
    if (dir) rmrf(dir);
  });

  test('snapshot-create-as --disk-only --quiesce freezes and thaws the guest; --quiesce alone is libvirt\'s error', async () => {
    let r = await cli('snapshot-create-as agentvm nodisk --quiesce');
    expect(r.status).toBe(1);
    expect(r.output).toContain("error: invalid argument: Flag 'VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY' is required by flag 'VIR_DOMAIN_SNAPSHOT_CREATE_QUIESCE'");
    // The agent inside may still be starting: the CLI's first try can meet an unconnected channel.
    await waitFor(async () => {
      r = await cli('snapshot-create-as agentvm q --disk-only --quiesce');
      return r.status === 0 || !/QEMU guest agent is not connected|not available for now/.test(r.output);
    }, 60_000);
    expect(r.output).toBe('Domain snapshot q created\n');
    expect(serialText().split('\n').filter((l) => l.startsWith(HOOK_LINE)).map((l) => l.trim()))
      .toEqual([`${HOOK_LINE} freeze 1`, `${HOOK_LINE} thaw 1`]);
    r = await cli('snapshot-list agentvm --disk-only --name; dumpxml agentvm');
    expect(r.output).toMatch(/^q\n/);
    expect(r.output).toContain(`<source file='${path.join(dir, 'd.q')}'`);
  }, 120_000);

  test('shutdown --mode agent powers the guest off through guest-shutdown', async () => {
    const r = await cli('shutdown agentvm --mode agent');
    expect(r.output.trim()).toBe('Domain \'agentvm\' is being shutdown');
    await waitFor(async () => (await cli('domstate agentvm')).output.startsWith('shut off'), 60_000);
    expect(serialText()).toContain(`${SHUTDOWN_LINE} -h -P +0 hypervisor initiated shutdown`);
  }, 90_000);
});
