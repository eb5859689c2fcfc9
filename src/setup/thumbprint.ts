/**
 * @module setup/thumbprint
 * The IAM OIDC provider thumbprint: SHA-1 of the top intermediate CA certificate of the chain the jwks_uri
 * host serves — the last certificate `openssl s_client -showcerts` prints — as 40 hex digits
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_providers_create_oidc_verify-thumbprint.html).
 * IAM uses it only when the host's CA is not in its trusted library (S3 and well-known CAs are), so it is
 * optional; offline, podtrust computes it from a chain file or prints the commands that obtain it.
 */
import { X509Certificate } from 'node:crypto'
import { SetupError } from './errors.ts'

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g

/** The thumbprint of the last certificate of a PEM chain (the chain as the host serves it). */
export function thumbprintOfChain(pem: string): string {
  const blocks = pem.match(PEM_CERT) ?? []
  const last = blocks[blocks.length - 1]
  if (last === undefined) {
    throw new SetupError('SETUP_INVALID', 'the --ca-file holds no PEM certificate', {
      hint: 'save the chain with: openssl s_client -servername HOST -showcerts -connect HOST:443 </dev/null',
    })
  }
  let cert: X509Certificate
  try {
    cert = new X509Certificate(last)
  } catch (err) {
    throw new SetupError('SETUP_INVALID', 'the last certificate of --ca-file does not parse', {
      cause: err,
    })
  }
  return cert.fingerprint.replace(/:/g, '').toLowerCase()
}

/** The shell commands that compute the thumbprint of `host`'s chain, as AWS documents them. */
export function thumbprintCommands(host: string): string[] {
  return [
    `openssl s_client -servername ${host} -showcerts -connect ${host}:443 </dev/null 2>/dev/null \\`,
    `  | awk '/BEGIN CERTIFICATE/{c=""} {c=c $0 "\\n"} /END CERTIFICATE/{last=c} END{printf "%s", last}' \\`,
    `  | openssl x509 -fingerprint -sha1 -noout | cut -d= -f2 | tr -d : | tr A-F a-f`,
  ]
}
