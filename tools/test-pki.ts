/**
 * Certificates for the TLS tests and the TLS benchmark, made with the openssl CLI in a temp dir: a CA,
 * a server certificate for 127.0.0.1, client certificates (each in a libvirt
 * `pkipath` directory: cacert.pem, clientcert.pem, clientkey.pem), one expired
 * and one signed by another CA.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface TestPki {
  dir: string;
  ca: string;
  serverCert: string;
  serverKey: string;
  /** A pkipath directory for a client with this subject (made by the given CA, valid or expired). */
  client(name: string, subject: string, opts?: { expired?: boolean; untrusted?: boolean }): string;
  /** A CRL of the CA revoking the certificates of these clients (by `client` name). */
  crl(revoked: string[]): string;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function makeCa(dir: string, name: string): { cert: string; key: string } {
  const cert = path.join(dir, `${name}.pem`);
  const key = path.join(dir, `${name}.key`);
  openssl(['req', '-x509', ...EC, '-keyout', key, '-out', cert, '-days', '2', '-subj', `/O=Example/CN=${name}`], dir);
  return { cert, key };
}

/** A key and certificate for `subject` signed by `ca`; `days` < 0 makes it expired. */
function issue(dir: string, name: string, subject: string, ca: { cert: string; key: string }, days: number, ext?: string): { cert: string; key: string } {
  const key = path.join(dir, `${name}.key`);
  const csr = path.join(dir, `${name}.csr`);
  const cert = path.join(dir, `${name}.pem`);
  openssl(['req', ...EC, '-keyout', key, '-out', csr, '-subj', subject], dir);
  const args = ['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-out', cert, '-days', String(days)];
  if (ext) {
    const extFile = path.join(dir, `${name}.ext`);
    writeFileSync(extFile, ext);
    args.push('-extfile', extFile);
  }
  openssl(args, dir);
  return { cert, key };
}

/** A CA, a second CA and a server certificate in `dir` (an empty directory; default: a new one in the system's temp dir). */
export function makeTestPki(dir = mkdtempSync(path.join(os.tmpdir(), 'virtsnap-pki-'))): TestPki {
  const ca = makeCa(dir, 'ca');
  const other = makeCa(dir, 'other-ca');
  const server = issue(dir, 'server', '/O=Example/CN=127.0.0.1', ca, 2, 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  return {
    dir, ca: ca.cert, serverCert: server.cert, serverKey: server.key,
    client(name, subject, opts = {}) {
      const c = issue(dir, name, subject, opts.untrusted ? other : ca, opts.expired ? -1 : 2);
      const pkipath = path.join(dir, `pki-${name}`);
      mkdirSync(pkipath);
      copyFileSync(ca.cert, path.join(pkipath, 'cacert.pem'));
      copyFileSync(c.cert, path.join(pkipath, 'clientcert.pem'));
      copyFileSync(c.key, path.join(pkipath, 'clientkey.pem'));
      return pkipath;
    },
    crl(revoked) {
      // `openssl ca` keeps its database in files; a minimal config for revoking and -gencrl.
      const db = path.join(dir, 'crl-db');
      mkdirSync(db, { recursive: true });
      writeFileSync(path.join(db, 'index.txt'), '');
      writeFileSync(path.join(db, 'crlnumber'), '01\n');
      const cnf = path.join(db, 'ca.cnf');
      writeFileSync(cnf, [
        '[ca]', 'default_ca = ca_default', '[ca_default]', `database = ${path.join(db, 'index.txt')}`,
        `crlnumber = ${path.join(db, 'crlnumber')}`, 'default_md = sha256', 'default_crl_days = 2', '',
      ].join('\n'));
      const caArgs = ['-config', cnf, '-keyfile', ca.key, '-cert', ca.cert];
      for (const name of revoked) openssl(['ca', ...caArgs, '-revoke', path.join(dir, `${name}.pem`)], dir);
      const out = path.join(dir, 'crl.pem');
      openssl(['ca', ...caArgs, '-gencrl', '-out', out], dir);
      return out;
    },
  };
}
