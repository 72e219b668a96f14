/**
 * The tls transport: node:tls to virtsnapd's TLS listener, with an x509 client
 * certificate (the daemon requires one) and the server's certificate checked
 * against our CA and the host name, as libvirt's. `no_verify=1` skips only the
 * server check; the daemon still checks ours.
 *
 * Files, as libvirt's layout: `pkipath=DIR` → DIR/cacert.pem, DIR/clientcert.pem,
 * DIR/clientkey.pem; as root /etc/pki/CA/cacert.pem, /etc/pki/virtsnap/clientcert.pem,
 * /etc/pki/virtsnap/private/clientkey.pem; otherwise
 * $XDG_CONFIG_HOME/virtsnap/pki/ (default ~/.config/virtsnap/pki/) holding all three.
 */
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import { VirError } from '../protocol/errors.js';
import { DEFAULT_TLS_PORT, defaultPkiFiles, pkiDirFiles, type PkiFiles } from '../protocol/paths.js';
import { flagParam, type RemoteUri } from './remote-uri.js';

export function clientPkiFiles(pkipath: string | undefined): PkiFiles {
  return pkipath !== undefined ? pkiDirFiles(pkipath, 'client') : defaultPkiFiles('client');
}

/** libvirt's "Cannot read CA certificate '%s': %s" and its siblings. */
function readPem(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'ENOENT' ? 'No such file or directory' : err.code === 'EACCES' ? 'Permission denied' : err.message;
    throw new VirError('VIR_ERR_SYSTEM_ERROR', `Cannot read ${what} '${file}': ${why}`, 'VIR_FROM_RPC');
  }
}

const ERRNO_TEXT: Record<string, string> = {
  ECONNREFUSED: 'Connection refused',
  EHOSTUNREACH: 'No route to host',
  ENETUNREACH: 'Network is unreachable',
  ETIMEDOUT: 'Connection timed out',
  ENOTFOUND: 'Name or service not known',
};

/** Connect and finish the handshake; the socket is then ready for JSON-RPC. */
export function openTlsStream(r: RemoteUri): Promise<tls.TLSSocket> {
  const files = clientPkiFiles(r.params.get('pkipath'));
  const ca = readPem(files.ca, 'CA certificate');
  const cert = readPem(files.cert, 'client certificate');
  const key = readPem(files.key, 'client key');
  const port = r.port ?? DEFAULT_TLS_PORT;
  const verify = !flagParam(r, 'no_verify');
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: r.host, port, ca, cert, key,
      rejectUnauthorized: verify,
      // SNI only for names; an IP address in SNI is not allowed.
      servername: /^[0-9.]+$|:/.test(r.host) ? undefined : r.host,
    });
    socket.once('secureConnect', () => {
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (e: NodeJS.ErrnoException) => {
      socket.destroy();
      const where = `${r.host.includes(':') ? `[${r.host}]` : r.host}:${port}`;
      if (e.code !== undefined && e.code in ERRNO_TEXT) {
        reject(new VirError('VIR_ERR_SYSTEM_ERROR', `unable to connect to server at '${where}': ${ERRNO_TEXT[e.code]}`, 'VIR_FROM_RPC'));
      } else if (e.code?.startsWith('ERR_TLS_') || /certificate|CERT|self.signed|altnames/i.test(`${e.code} ${e.message}`)) {
        reject(new VirError('VIR_ERR_AUTH_FAILED', `Unable to verify TLS peer ${where}: ${e.message}`, 'VIR_FROM_RPC'));
      } else {
        reject(new VirError('VIR_ERR_SYSTEM_ERROR', `unable to connect to server at '${where}': ${e.message}`, 'VIR_FROM_RPC'));
      }
    });
  });
}
