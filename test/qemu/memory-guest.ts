/**
 * A guest whose RAM is observable without an OS: a boot sector that counts
 * timer interrupts into the dword at physical 0x7e00 (sti; hlt; inc; jmp),
 * about 18 per second of guest time, frozen while the guest is paused. Read
 * back with HMP `xp`, it tells which instant a restored RAM comes from.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { QemuProcess } from '../../drivers/qemu/qemu-process.js';
import { waitFor } from './driver-helpers.js';

export const COUNTER_ADDR = 0x7e00;

// cli; xor ax,ax; mov ds,ax; sti; L: hlt; inc dword [0x7e00]; jmp L
const CODE = [0xfa, 0x31, 0xc0, 0x8e, 0xd8, 0xfb, 0xf4, 0x66, 0xff, 0x06, 0x00, 0x7e, 0xeb, 0xf8];

/** Put the counting boot sector at the start of each (64 MiB qcow2) disk, no VM holding them. */
export function installBootCounter(disks: string[], sizeBytes = 64 << 20): void {
  for (const disk of disks) {
    const raw = path.join(path.dirname(disk), `${path.basename(disk)}.boot.raw`);
    const sector = Buffer.alloc(512);
    Buffer.from(CODE).copy(sector);
    sector[510] = 0x55;
    sector[511] = 0xaa;
    fs.writeFileSync(raw, sector);
    fs.truncateSync(raw, sizeBytes);
    execFileSync('qemu-img', ['convert', '-n', '-f', 'raw', '-O', 'qcow2', raw, disk]);
    fs.rmSync(raw);
  }
}

export async function readCounter(proc: QemuProcess): Promise<number> {
  const out = await proc.qmp.hmp(`xp /1wx 0x${COUNTER_ADDR.toString(16)}`);
  const m = /:\s*0x([0-9a-f]+)/i.exec(out);
  if (!m) throw new Error(`unexpected 'xp' output: ${JSON.stringify(out)}`);
  return Number.parseInt(m[1]!, 16);
}

/** Wait until the guest has booted the sector and counted past `n`. */
export async function counterPast(proc: () => QemuProcess, n: number, timeoutMs = 20_000): Promise<number> {
  let v = 0;
  await waitFor(async () => (v = await readCounter(proc())) > n, timeoutMs);
  return v;
}
