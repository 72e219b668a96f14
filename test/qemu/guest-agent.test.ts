/**
 * The guest-agent client against a real qemu-ga (run on the host in
 * unix-listen mode, with every command that could touch the host blocked),
 * and against a real QEMU channel with no agent behind it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { guestFsfreezeFreeze, guestFsfreezeStatus, guestPing } from '../../drivers/qemu/guest-agent.js';
import { deviceArgs } from '../../drivers/qemu/domain/argv.js';
import { parseDomainXml } from '../../drivers/common/xml/domain-xml.js';
import { qemuDomainSpec } from '../../drivers/qemu/qemu-domain-spec.js';
import { expectVirError } from '../helpers/expect-error.js';
import { waitFor } from './driver-helpers.js';
import { makeTempDir, requireQemu, rmrf, startVm, type TestVm } from './helpers.js';

requireQemu();

let dir: string | undefined;
let agent: ChildProcess | undefined;
let vm: TestVm | undefined;

afterEach(async () => {
  agent?.kill('SIGKILL');
  await vm?.proc.kill().catch(() => undefined);
  if (dir) rmrf(dir);
  dir = undefined;
  agent = undefined;
  vm = undefined;
});

describe('guest agent client', () => {
  test('talks to a real qemu-ga: ping, fsfreeze-status, and the agent\'s own errors', async () => {
    dir = makeTempDir();
    const sock = path.join(dir, 'qga.sock');
    // Host-run agent: block everything that would act on the host.
    const blocked = ['guest-shutdown', 'guest-fsfreeze-freeze', 'guest-fsfreeze-freeze-list', 'guest-fsfreeze-thaw',
      'guest-suspend-disk', 'guest-suspend-ram', 'guest-suspend-hybrid', 'guest-exec', 'guest-file-open', 'guest-set-time',
      'guest-set-user-password', 'guest-set-vcpus', 'guest-set-memory-blocks', 'guest-fstrim', 'guest-ssh-add-authorized-keys',
      'guest-ssh-remove-authorized-keys', 'guest-network-get-interfaces'];
    agent = spawn('qemu-ga', ['-m', 'unix-listen', '-p', sock, '-f', path.join(dir, 'qga.pid'), '-t', dir, '-b', blocked.join(',')],
      { stdio: 'ignore' });
    await waitFor(() => fs.existsSync(sock), 10_000);
    await guestPing(sock);
    expect(await guestFsfreezeStatus(sock)).toBe('thawed');
    await expectVirError(guestFsfreezeFreeze(sock), 'VIR_ERR_INTERNAL_ERROR', /unable to execute QEMU agent command 'guest-fsfreeze-freeze': .*disabled/);
    await guestPing(sock); // still in sync after an error
  });

  test('a QEMU channel with no agent behind it: VIR_ERR_AGENT_UNRESPONSIVE after the timeout; no socket: the same code', async () => {
    dir = makeTempDir();
    const sock = path.join(dir, 'agent.sock');
    const spec = qemuDomainSpec(parseDomainXml(`<domain type='qemu'><name>a</name><memory unit='MiB'>64</memory><devices>
      <channel type='unix'><source mode='bind' path='${sock}'/><target type='virtio' name='org.qemu.guest_agent.0'/></channel></devices></domain>`));
    vm = await startVm(dir, [], { extraArgs: deviceArgs(spec, { runDir: dir }) });
    await expectVirError(guestPing(sock, { syncTimeoutMs: 1_500 }), 'VIR_ERR_AGENT_UNRESPONSIVE',
      'Guest agent is not responding: Guest agent not available for now');
    await expectVirError(guestPing(path.join(dir, 'none.sock')), 'VIR_ERR_AGENT_UNRESPONSIVE', /cannot connect to the guest agent socket/);
  });
});
