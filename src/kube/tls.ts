/**
 * @module kube/tls
 * The serving certificate: from `--tls-cert`/`--tls-key` files, checked as a pair and reloaded when they
 * change (Secret volume updates, cert-manager renewals) without dropping connections; or issued at start
 * by podtrust's CA (`--tls-from-ca`), whose certificate, base64-encoded, is the MutatingWebhookConfiguration's
 * `caBundle`.
 */
import { readFileSync } from 'node:fs'
import { createSecureContext } from 'node:tls'
import { dirname } from 'node:path'
import { caDir, issueServerCertificate, loadOrCreateCa } from '../certs/ca.ts'
import { WebhookError } from './errors.ts'
import { type DirectoryWatch, watchDirectory } from './file-watch.ts'

export interface TlsMaterial {
  certPem: string
  keyPem: string
}

/** Reads and checks a certificate/key pair (the key must match the certificate). */
export function readTlsFiles(certFile: string, keyFile: string): TlsMaterial {
  let certPem: string
  let keyPem: string
  try {
    certPem = readFileSync(certFile, 'utf8')
    keyPem = readFileSync(keyFile, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error'
    throw new WebhookError('TLS_INVALID', `cannot read the serving certificate or key (${code})`, {
      cause: err,
      hint: 'give --tls-cert and --tls-key, or --tls-from-ca --dns-name NAME',
    })
  }
  try {
    createSecureContext({ cert: certPem, key: keyPem })
  } catch (err) {
    throw new WebhookError(
      'TLS_INVALID',
      `\`${certFile}\` and \`${keyFile}\` are not a usable certificate and key: ${(err as Error).message}`,
      { cause: err },
    )
  }
  return { certPem, keyPem }
}

/** A serving certificate from podtrust's CA in `dataDir` (created on first use). */
export async function issueFromCa(
  dataDir: string,
  names: { dnsNames: string[]; ipAddresses: string[] },
): Promise<{ material: TlsMaterial; caPem: string; caBundle: string; caFile: string }> {
  const ca = await loadOrCreateCa(caDir(dataDir))
  const cert = await issueServerCertificate(ca, names)
  return {
    material: { certPem: cert.certPem, keyPem: cert.keyPem },
    caPem: ca.certPem,
    caBundle: Buffer.from(ca.certPem).toString('base64'),
    caFile: ca.certFile,
  }
}

/**
 * Watches the pair's directories; calls `onReload` with a new valid pair, `onError` when the files
 * changed into something unusable (the old certificate stays in use).
 */
export function watchTlsFiles(
  certFile: string,
  keyFile: string,
  current: TlsMaterial,
  onReload: (material: TlsMaterial) => void,
  onError: (err: unknown) => void,
  options: { pollMs?: number } = {},
): DirectoryWatch {
  let last = current
  let lastBad = ''
  const check = () => {
    let certPem: string
    let keyPem: string
    try {
      certPem = readFileSync(certFile, 'utf8')
      keyPem = readFileSync(keyFile, 'utf8')
    } catch {
      return // mid-update (the symlink swap): the next event or poll sees the files again
    }
    if (certPem === last.certPem && keyPem === last.keyPem) return
    if (certPem + keyPem === lastBad) return
    try {
      last = readTlsFiles(certFile, keyFile)
      lastBad = ''
      onReload(last)
    } catch (err) {
      lastBad = certPem + keyPem
      onError(err)
    }
  }
  const watches = [...new Set([dirname(certFile), dirname(keyFile)])].map((d) =>
    watchDirectory(d, check, options.pollMs === undefined ? {} : { pollMs: options.pollMs }),
  )
  return { close: () => watches.forEach((w) => w.close()) }
}
