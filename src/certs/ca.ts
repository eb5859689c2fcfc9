/**
 * @module certs/ca
 * podtrust's own certificate authority: an ECDSA P-256 root kept in a directory (`ca.pem`, `ca-key.pem`
 * with mode 0600), created on first use, and the serving certificates it issues (local-stack TLS listener,
 * admission webhook, Entra endpoints). Clients trust the CA file `podtrust certs` prints.
 */
import { randomBytes, webcrypto } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { isIP } from 'node:net'
import { join } from 'node:path'
// @peculiar/x509's dependency injection (tsyringe) needs the Reflect metadata API before it loads.
import 'reflect-metadata'
import * as x509 from '@peculiar/x509'
import { PodtrustError } from '../errors.ts'

x509.cryptoProvider.set(webcrypto as never)

export type CertErrorCode = 'CA_INVALID' | 'CERT_REQUEST_INVALID'
export class CertError extends PodtrustError<CertErrorCode> {}

export interface Ca {
  certPem: string
  keyPem: string
  /** Absolute path of the CA certificate (PEM) clients should trust. */
  certFile: string
}

export interface ServerCertificate {
  certPem: string
  keyPem: string
}

const EC = { name: 'ECDSA', namedCurve: 'P-256' } as const
const SIGN = { name: 'ECDSA', hash: 'SHA-256' } as const
export const CA_CERT_FILE = 'ca.pem'
export const CA_KEY_FILE = 'ca-key.pem'

/** The CA directory inside a data directory. */
export function caDir(dataDir: string): string {
  return join(dataDir, 'ca')
}

function serial(): string {
  // Positive 128-bit serial: clear the top bit so DER does not read it as negative.
  const b = randomBytes(16)
  b[0] = b[0]! & 0x7f
  return b.toString('hex')
}

async function generateKeys(): Promise<webcrypto.CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(EC, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair
}

async function exportKeyPem(key: webcrypto.CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key)
  return x509.PemConverter.encode(der, 'PRIVATE KEY')
}

async function importKeyPem(pem: string): Promise<webcrypto.CryptoKey> {
  const der = x509.PemConverter.decode(pem)[0]
  if (der === undefined) throw new CertError('CA_INVALID', 'the CA key file holds no PEM block')
  return webcrypto.subtle.importKey('pkcs8', der, EC, false, ['sign'])
}

/**
 * Loads the CA from `dir`, creating it (and `dir`, mode 0700) on first use.
 *
 * @example const ca = await loadOrCreateCa(caDir('.podtrust')) // ca.certFile: '.podtrust/ca/ca.pem'
 */
export async function loadOrCreateCa(dir: string, now: Date = new Date()): Promise<Ca> {
  const certFile = join(dir, CA_CERT_FILE)
  const keyFile = join(dir, CA_KEY_FILE)
  if (existsSync(certFile) && existsSync(keyFile)) {
    return {
      certPem: readFileSync(certFile, 'utf8'),
      keyPem: readFileSync(keyFile, 'utf8'),
      certFile,
    }
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const keys = await generateKeys()
  const notBefore = new Date(now.getTime() - 60 * 60 * 1000)
  const notAfter = new Date(now.getTime() + 10 * 365 * 24 * 3600 * 1000)
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=podtrust local CA ${randomBytes(4).toString('hex')}, O=podtrust`,
    notBefore,
    notAfter,
    signingAlgorithm: SIGN,
    keys: keys as never,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey as never),
    ],
  })
  const certPem = cert.toString('pem') + '\n'
  const keyPem = await exportKeyPem(keys.privateKey)
  // Key first, then certificate, each written atomically: a reader never sees a cert without its key.
  writeAtomic(keyFile, keyPem, 0o600)
  writeAtomic(certFile, certPem, 0o644)
  return { certPem, keyPem, certFile }
}

/** Writes a CA (from the store) into `dir` as `podtrust certs` expects it: key 0600 first, then the cert. */
export function writeCaFiles(dir: string, certPem: string, keyPem: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  writeAtomic(join(dir, CA_KEY_FILE), keyPem, 0o600)
  writeAtomic(join(dir, CA_CERT_FILE), certPem, 0o644)
}

function writeAtomic(file: string, content: string, mode: number): void {
  const tmp = `${file}.${process.pid}.tmp`
  writeFileSync(tmp, content, { mode })
  renameSync(tmp, file)
}

/**
 * Issues a serving certificate (serverAuth) for the given names, signed by the CA.
 *
 * @example await issueServerCertificate(ca, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] })
 */
export async function issueServerCertificate(
  ca: Ca,
  options: { dnsNames: string[]; ipAddresses: string[]; validityDays?: number; now?: Date },
): Promise<ServerCertificate> {
  if (options.dnsNames.length + options.ipAddresses.length === 0) {
    throw new CertError(
      'CERT_REQUEST_INVALID',
      'a serving certificate needs at least one DNS name or IP address',
    )
  }
  for (const ip of options.ipAddresses) {
    if (isIP(ip) === 0)
      throw new CertError('CERT_REQUEST_INVALID', `\`${ip}\` is not an IP address`)
  }
  for (const d of options.dnsNames) {
    if (
      !/^(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/.test(
        d,
      )
    ) {
      throw new CertError('CERT_REQUEST_INVALID', `\`${d}\` is not a DNS name`)
    }
  }
  const days = options.validityDays ?? 365
  if (!Number.isInteger(days) || days < 1 || days > 825) {
    throw new CertError('CERT_REQUEST_INVALID', 'validity must be 1..825 days')
  }
  const now = options.now ?? new Date()
  const caCert = new x509.X509Certificate(ca.certPem)
  const caKey = await importKeyPem(ca.keyPem)
  const keys = await generateKeys()
  const names = [
    ...options.dnsNames.map((value) => ({ type: 'dns' as const, value })),
    ...options.ipAddresses.map((value) => ({ type: 'ip' as const, value })),
  ]
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${options.dnsNames[0] ?? options.ipAddresses[0]}`,
    issuer: caCert.subject,
    notBefore: new Date(now.getTime() - 60 * 60 * 1000),
    notAfter: new Date(now.getTime() + days * 24 * 3600 * 1000),
    signingAlgorithm: SIGN,
    publicKey: keys.publicKey as never,
    signingKey: caKey as never,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(names),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey as never),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
    ],
  })
  return { certPem: cert.toString('pem') + '\n', keyPem: await exportKeyPem(keys.privateKey) }
}
