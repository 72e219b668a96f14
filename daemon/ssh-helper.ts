#!/usr/bin/env node
/**
 * virtsnap-ssh-helper: run by ssh on the daemon's host for `driver+ssh://` URIs
 * (libvirt's virt-ssh-helper, or `nc -U`). It bridges its stdin/stdout to
 * virtsnapd's Unix socket, byte for byte: the daemon sees an ordinary local
 * client with the ssh user's uid (SO_PEERCRED), so the socket's own access
 * rules (mode, group, --allow-uid, the read-only socket) apply unchanged.
 *
 *   virtsnap-ssh-helper [--readonly] [--socket PATH]
 *
 * The default socket is the daemon's default for the user ssh logged in as.
 * If the daemon cannot be reached it says so on stderr, in libvirt's words,
 * and exits 1; the client turns that into VIR_ERR_NO_CONNECT.
 */
import net from 'node:net';
import { parseArgs } from 'node:util';
import { defaultSocketPath, readOnlySocketPath } from '../protocol/paths.js';

const ERRNO_TEXT: Record<string, string> = {
  ENOENT: 'No such file or directory',
  ECONNREFUSED: 'Connection refused',
  EACCES: 'Permission denied',
};

function main(): void {
  const { values } = parseArgs({
    options: { socket: { type: 'string' }, readonly: { type: 'boolean', short: 'r' }, help: { type: 'boolean', short: 'h' } },
    strict: true,
  });
  if (values.help) {
    process.stdout.write('Usage: virtsnap-ssh-helper [--readonly] [--socket PATH]\n');
    return;
  }
  const base = values.socket ?? defaultSocketPath();
  const socketPath = values.readonly ? readOnlySocketPath(base) : base;
  const socket = net.connect(socketPath);
  socket.once('error', (e: NodeJS.ErrnoException) => {
    process.stderr.write(`Failed to connect socket to '${socketPath}': ${ERRNO_TEXT[e.code ?? ''] ?? e.message}\n`);
    process.exit(1);
  });
  socket.once('connect', () => {
    socket.removeAllListeners('error');
    socket.on('error', () => process.exit(1));
    process.stdin.pipe(socket);
    socket.pipe(process.stdout);
    // The daemon hung up: we are done. ssh closing our stdin: half-close, let the replies out.
    socket.on('close', () => process.exit(0));
  });
}

main();
