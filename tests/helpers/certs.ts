/** Private CA + leaf certificates made with the openssl CLI, for TLS registries and the token service. */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface LeafCert {
  caFile: string; // PEM of the self-signed CA
  caPem: string;
  certFile: string; // PEM of the leaf, signed by the CA
  certPem: string;
  keyFile: string; // PEM private key of the leaf (PKCS#8)
  keyPem: string;
}

function openssl(cwd: string, args: string[]): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/**
 * Makes `<prefix>-ca.pem` and `<prefix>.pem`/`<prefix>.key` in `dir`.
 * `keyType` 'rsa' for RS256 token signing, 'ec' (P-256, faster) for TLS servers.
 */
export function makeLeafCert(dir: string, prefix: string, opts: { cn: string; san?: string[]; keyType: 'rsa' | 'ec' }): LeafCert {
  const newKey = opts.keyType === 'rsa' ? ['-newkey', 'rsa:2048'] : ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'];
  const caKey = `${prefix}-ca.key`;
  const caFile = join(dir, `${prefix}-ca.pem`);
  openssl(dir, ['req', '-x509', ...newKey, '-nodes', '-days', '2', '-subj', `/CN=${prefix} test CA`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    '-keyout', caKey, '-out', caFile]);

  const keyFile = join(dir, `${prefix}.key`);
  const certFile = join(dir, `${prefix}.pem`);
  const ext = [
    'basicConstraints=CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    'extendedKeyUsage=serverAuth,clientAuth',
    ...(opts.san?.length ? [`subjectAltName=${opts.san.join(',')}`] : []),
  ];
  writeFileSync(join(dir, `${prefix}.ext`), ext.join('\n') + '\n');
  openssl(dir, ['req', ...newKey, '-nodes', '-subj', `/CN=${opts.cn}`, '-keyout', keyFile, '-out', `${prefix}.csr`]);
  openssl(dir, ['x509', '-req', '-in', `${prefix}.csr`, '-CA', caFile, '-CAkey', caKey, '-CAcreateserial',
    '-days', '2', '-extfile', `${prefix}.ext`, '-out', certFile]);

  return {
    caFile, caPem: readFileSync(caFile, 'utf8'),
    certFile, certPem: readFileSync(certFile, 'utf8'),
    keyFile, keyPem: readFileSync(keyFile, 'utf8'),
  };
}

/** PEM → base64 DER (the form JOSE `x5c` wants). */
export function pemToDerBase64(pem: string): string {
  return pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
}
