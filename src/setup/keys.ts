/**
 * @module setup/keys
 * The service-account signing key pair of a self-hosted cluster: created here (RSA 2048, what
 * kube-apiserver's own tooling and the AWS and Azure self-hosted guides use) or imported from a PEM file
 * (RSA ≥ 2048 or ECDSA P-256 — the key types kube-apiserver signs with). The key id is kube-apiserver's:
 * base64url(SHA-256(DER SubjectPublicKeyInfo)) (kubernetes/kubernetes#78502), so the JWKS we publish names the
 * kid the API server writes into its tokens.
 *
 * The cluster gets its own key pair rather than one of podtrust's issuer keys: the private key lives on the
 * control-plane node's disk (the API server signs), podtrust needs only the public half to publish.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto'
import type { KeyObject } from 'node:crypto'
import { SetupError } from './errors.ts'

export type ServiceAccountKeyAlg = 'RS256' | 'ES256'

export interface ServiceAccountKeyPair {
  kid: string
  alg: ServiceAccountKeyAlg
  /** PKCS#8 PEM ("PRIVATE KEY"): kube-apiserver reads PKCS#1, PKCS#8 and SEC1 alike. */
  privatePem: string
  /** SPKI PEM ("PUBLIC KEY"), what `--service-account-key-file` takes. */
  publicPem: string
  /** The public JWK as published: kty, n/e or crv/x/y, plus kid, alg, use. */
  jwk: PublicJwk
}

export type PublicJwk = Record<string, string> & { kid: string; alg: string; kty: string }

/** kube-apiserver's key id: base64url, unpadded, of SHA-256 over the DER SubjectPublicKeyInfo. */
export function kubeKeyId(publicKey: KeyObject): string {
  const der = publicKey.export({ format: 'der', type: 'spki' })
  return createHash('sha256').update(der).digest('base64url')
}

function describe(privateKey: KeyObject): ServiceAccountKeyPair {
  const publicKey = createPublicKey(privateKey)
  let alg: ServiceAccountKeyAlg
  if (privateKey.asymmetricKeyType === 'rsa') {
    const bits = privateKey.asymmetricKeyDetails?.modulusLength ?? 0
    if (bits < 2048) {
      throw new SetupError('SETUP_KEY_INVALID', `RSA key of ${bits} bits is too short`, {
        hint: 'use an RSA key of at least 2048 bits (openssl genrsa -out sa.key 2048)',
      })
    }
    alg = 'RS256'
  } else if (
    privateKey.asymmetricKeyType === 'ec' &&
    privateKey.asymmetricKeyDetails?.namedCurve === 'prime256v1'
  ) {
    alg = 'ES256'
  } else {
    throw new SetupError(
      'SETUP_KEY_INVALID',
      `unsupported key type ${privateKey.asymmetricKeyType ?? 'unknown'}`,
      { hint: 'kube-apiserver signs with RSA (≥ 2048 bits) or ECDSA P-256 keys' },
    )
  }
  const kid = kubeKeyId(publicKey)
  const raw = publicKey.export({ format: 'jwk' }) as Record<string, string>
  const jwk: PublicJwk = { use: 'sig', ...raw, kty: raw['kty'] ?? '', kid, alg }
  return {
    kid,
    alg,
    privatePem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    publicPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
    jwk,
  }
}

export function generateServiceAccountKey(
  alg: ServiceAccountKeyAlg = 'RS256',
): ServiceAccountKeyPair {
  const { privateKey } =
    alg === 'RS256'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
  return describe(privateKey)
}

/** A private key PEM (PKCS#1, PKCS#8 or SEC1) to import; the public half is derived from it. */
export function importServiceAccountKey(pem: string): ServiceAccountKeyPair {
  let key: KeyObject
  try {
    key = createPrivateKey({ key: pem, format: 'pem' })
  } catch (err) {
    throw new SetupError('SETUP_KEY_INVALID', 'the --key file is not a PEM private key', {
      hint: 'pass the API server signing key (e.g. /etc/kubernetes/pki/sa.key), not its public half',
      cause: err,
    })
  }
  return describe(key)
}

/** The public JWK of a public key PEM (for keys whose private half podtrust never held). */
export function publicJwkOf(publicPem: string): PublicJwk {
  const publicKey = createPublicKey(publicPem)
  const raw = publicKey.export({ format: 'jwk' }) as Record<string, string>
  const alg = publicKey.asymmetricKeyType === 'rsa' ? 'RS256' : 'ES256'
  return { use: 'sig', ...raw, kty: raw['kty'] ?? '', kid: kubeKeyId(publicKey), alg }
}
