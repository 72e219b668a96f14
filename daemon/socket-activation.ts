/**
 * systemd socket activation (sd_listen_fds): when started by a .socket unit,
 * the listening sockets arrive as file descriptors 3, 4, ... with their names in
 * LISTEN_FDNAMES. virtsnapd then serves them instead of creating its own.
 */
export interface InheritedListeners {
  rw?: number;
  ro?: number;
}

const SD_LISTEN_FDS_START = 3;

export function systemdListeners(env: NodeJS.ProcessEnv): InheritedListeners | undefined {
  if (env.LISTEN_PID === undefined || Number(env.LISTEN_PID) !== process.pid) return undefined;
  const count = Number(env.LISTEN_FDS ?? '0');
  if (!Number.isInteger(count) || count <= 0) return undefined;
  const names = (env.LISTEN_FDNAMES ?? '').split(':');
  const out: InheritedListeners = {};
  for (let i = 0; i < count; i++) {
    const fd = SD_LISTEN_FDS_START + i;
    const name = names[i] ?? '';
    // Unnamed: the first socket is the read-write one, the second the read-only one.
    if (name === 'virtsnap-ro' || (name === '' && i === 1)) out.ro = fd;
    else if (name === 'virtsnap-rw' || (name === '' && i === 0)) out.rw = fd;
  }
  // The variables are for us only; children (QEMU) must not see them.
  delete env.LISTEN_PID;
  delete env.LISTEN_FDS;
  delete env.LISTEN_FDNAMES;
  return out;
}
