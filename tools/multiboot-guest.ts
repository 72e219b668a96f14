/**
 * A guest without an OS whose RAM is full of random data: a 36-byte multiboot
 * kernel (`cli; hlt; jmp $-1`, loaded at 1 MiB) given as <kernel>, and a random
 * module given as <initrd>, which QEMU's multiboot loader copies into RAM. Its
 * vmstate is then as large as a busy guest's, so snapshot jobs take real time.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, writeFileSync, writeSync } from 'node:fs';

export function multibootKernel(): Buffer {
  const LOAD = 0x100000;
  const magic = 0x1badb002;
  const flags = 0x00010000;
  const header = [magic, flags, (-(magic + flags)) >>> 0, LOAD, LOAD, 0, 0, LOAD + 32];
  const buf = Buffer.alloc(36);
  header.forEach((w, i) => buf.writeUInt32LE(w >>> 0, i * 4));
  Buffer.from([0xfa, 0xf4, 0xeb, 0xfd]).copy(buf, 32);
  return buf;
}

/** Write the kernel and a `mib` MiB random module; returns their paths. */
export function writeMultibootGuest(dir: string, mib: number): { kernel: string; module: string } {
  const kernel = `${dir}/kernel.mb`;
  const module = `${dir}/fill.bin`;
  writeFileSync(kernel, multibootKernel());
  const fd = openSync(module, 'w');
  try {
    for (let i = 0; i < mib; i++) writeSync(fd, randomBytes(1024 * 1024));
  } finally {
    closeSync(fd);
  }
  return { kernel, module };
}
