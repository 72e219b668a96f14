/**
 * `--http ADDR:PORT`: the web page has no authentication, so it may only be
 * served on a loopback address; anything else is refused at start-up.
 */
import net from 'node:net';

export interface HttpAddress {
  host: string;
  port: number;
}

export class HttpAddressError extends Error {}

const LOOPBACK = new net.BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** 127.0.0.0/8 and ::1, however written (also an IPv4-mapped ::ffff:127.x.y.z). */
export function isLoopback(host: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(host);
  if (mapped) return LOOPBACK.check(mapped[1], 'ipv4');
  if (net.isIPv4(host)) return LOOPBACK.check(host, 'ipv4');
  return net.isIPv6(host) && LOOPBACK.check(host, 'ipv6');
}

/** `127.0.0.1:8080`, `[::1]:8080`, `localhost:8080` (= 127.0.0.1); port 0 picks a free one. */
export function parseHttpAddress(value: string): HttpAddress {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(value);
  if (!m) throw new HttpAddressError(`--http '${value}': expected ADDRESS:PORT, e.g. 127.0.0.1:8080 or [::1]:8080`);
  const port = Number(m[3]);
  if (port > 65535) throw new HttpAddressError(`--http '${value}': port ${port} is out of range (0-65535)`);
  const given = m[1] ?? m[2];
  const host = given === 'localhost' ? '127.0.0.1' : given;
  if (!net.isIP(host)) throw new HttpAddressError(`--http '${value}': '${given}' is not an IP address (use 127.0.0.1, ::1 or localhost)`);
  if (!isLoopback(host)) {
    throw new HttpAddressError(`--http '${value}': refusing to serve on ${given}, which is not a loopback address: `
      + 'the page has no authentication, so only 127.0.0.1, ::1 or localhost are allowed');
  }
  return { host, port };
}
