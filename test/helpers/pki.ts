import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const openssl = (dir: string, args: string[]): void => {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
};

/** A CA in dir (ca.crt, ca.key) and a service-account key pair (sa.key, sa.pub), made with the real openssl. */
export function makeCa(dir: string): void {
  openssl(dir, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=hardway-test-ca']);
  openssl(dir, ['genrsa', '-out', 'sa.key', '2048']);
  openssl(dir, ['rsa', '-in', 'sa.key', '-pubout', '-out', 'sa.pub']);
}

/** A certificate signed by the CA: name.crt / name.key. */
export function makeCert(dir: string, name: string, subject: string, sans: string[] = []): void {
  const ext = join(dir, `${name}.ext`);
  writeFileSync(ext, sans.length ? `subjectAltName=${sans.join(',')}\n` : 'basicConstraints=CA:FALSE\n');
  openssl(dir, ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject]);
  openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '1', '-extfile', ext]);
}

/** A kubeconfig for a client certificate, written as kubectl would. */
export function writeKubeconfig(dir: string, name: string, server: string): string {
  const path = join(dir, `${name}.kubeconfig`);
  writeFileSync(
    path,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      `- name: test\n  cluster:\n    certificate-authority: ${join(dir, 'ca.crt')}\n    server: ${server}`,
      'users:',
      `- name: ${name}\n  user:\n    client-certificate: ${join(dir, `${name}.crt`)}\n    client-key: ${join(dir, `${name}.key`)}`,
      'contexts:',
      `- name: default\n  context:\n    cluster: test\n    user: ${name}`,
      'current-context: default',
      '',
    ].join('\n'),
  );
  return path;
}
