/**
 * @module certs/shared
 * One CA for the whole deployment, so a client trusting it reaches any replica over TLS:
 *
 * - with `fromDir` (`--ca-dir`, e.g. a mounted Kubernetes Secret holding `ca.pem` and `ca-key.pem`), those
 *   files are the CA, read-only; nothing is created or stored;
 * - otherwise the CA lives in the store (table `certs_ca`). The first replica to start stores it — the CA
 *   already in its data directory when there is one (upgrades keep the CA clients trust), else a new one —
 *   under a store lock, so replicas starting together agree; every replica then writes the stored CA to its
 *   data directory's `ca/` (what `podtrust certs` prints), replacing a different local one.
 */
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Db } from '../store/db.ts'
import { withStoreLock } from '../store/db.ts'
import { CA_CERT_FILE, CA_KEY_FILE, CertError, loadOrCreateCa, writeCaFiles } from './ca.ts'
import type { Ca } from './ca.ts'

export async function loadDeploymentCa(
  db: Db,
  options: { dataCaDir: string; fromDir?: string; now: Date },
): Promise<{ ca: Ca; replacedLocal: boolean }> {
  if (options.fromDir !== undefined) {
    const certFile = join(options.fromDir, CA_CERT_FILE)
    const keyFile = join(options.fromDir, CA_KEY_FILE)
    if (!existsSync(certFile) || !existsSync(keyFile)) {
      throw new CertError(
        'CA_INVALID',
        `the CA directory ${options.fromDir} lacks ${CA_CERT_FILE} or ${CA_KEY_FILE}`,
        {
          hint: `put the CA certificate and its PKCS#8 key there as ${CA_CERT_FILE} and ${CA_KEY_FILE} (a Secret with those keys)`,
        },
      )
    }
    return {
      ca: {
        certPem: readFileSync(certFile, 'utf8'),
        keyPem: readFileSync(keyFile, 'utf8'),
        certFile,
      },
      replacedLocal: false,
    }
  }
  type Row = { cert_pem: string; key_pem: string }
  const read = (q: Pick<Db, 'get'>) =>
    q.get<Row>("SELECT cert_pem, key_pem FROM certs_ca WHERE name = 'default'")
  let row = await read(db)
  if (row === undefined) {
    // Created or loaded outside the lock (key generation is slow); stored only if nobody stored one first.
    const local = await loadOrCreateCa(options.dataCaDir, options.now)
    row = await withStoreLock(db, 'ca', async (tx) => {
      const existing = await read(tx)
      if (existing !== undefined) return existing
      await tx.run(
        "INSERT INTO certs_ca (name, cert_pem, key_pem, created_at) VALUES ('default', ?, ?, ?)",
        [local.certPem, local.keyPem, options.now.getTime()],
      )
      return { cert_pem: local.certPem, key_pem: local.keyPem }
    })
  }
  const certFile = join(options.dataCaDir, CA_CERT_FILE)
  const localPem = existsSync(certFile) ? readFileSync(certFile, 'utf8') : undefined
  const replacedLocal = localPem !== undefined && localPem !== row.cert_pem
  if (localPem !== row.cert_pem) writeCaFiles(options.dataCaDir, row.cert_pem, row.key_pem)
  return { ca: { certPem: row.cert_pem, keyPem: row.key_pem, certFile }, replacedLocal }
}
