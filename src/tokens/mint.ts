/**
 * @module tokens/mint
 * Service-account tokens with kube-apiserver's claim layout (TokenRequest / projected volume tokens):
 * `iss`, `sub` = `system:serviceaccount:NS:SA`, `aud` (array), `exp`, `iat`, `nbf`, `jti`, and the
 * `kubernetes.io` claim with namespace, serviceaccount name/uid and pod name/uid.
 */
import { createHash, randomUUID } from 'node:crypto'
import { SignJWT } from 'jose'
import { currentSigningKey, MAX_TOKEN_LIFETIME_SECONDS } from '../keys/store.ts'
import type { Queryable } from '../store/db.ts'
import { IssuerError } from './errors.ts'
import { DEFAULT_ISSUER, getIssuer } from './issuer.ts'

export const DEFAULT_TOKEN_EXPIRATION_SECONDS = 3600

export interface MintRequest {
  /** Issuer name (default `default`); it must exist (`cluster:NAME` is created by `podtrust cluster add`). */
  issuer?: string
  namespace: string
  serviceAccount: string
  audiences: string[]
  /** 1..86400 (default 3600). */
  expirationSeconds?: number
  pod?: { name: string; uid: string }
  /** Default: derived from the issuer, namespace and name, so it is stable across mints. */
  serviceAccountUid?: string
  now: Date
  /** Injected randomness for `jti` (default crypto.randomUUID). */
  randomUUID?: () => string
}

/** A DNS-1123 label (namespace) or subdomain (service account, pod name), as Kubernetes validates them. */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/

function invalid(message: string, hint?: string): IssuerError {
  return new IssuerError('TOKEN_REQUEST_INVALID', message, hint === undefined ? {} : { hint })
}

export function validateMintRequest(req: MintRequest): void {
  if (req.namespace.length > 63 || !DNS_LABEL.test(req.namespace)) {
    throw invalid(
      `invalid namespace \`${req.namespace}\``,
      'a namespace is a DNS label: lowercase letters, digits and -',
    )
  }
  if (req.serviceAccount.length > 253 || !DNS_SUBDOMAIN.test(req.serviceAccount)) {
    throw invalid(
      `invalid service account name \`${req.serviceAccount}\``,
      'a service account name is a DNS subdomain',
    )
  }
  if (req.pod !== undefined && (req.pod.name.length > 253 || !DNS_SUBDOMAIN.test(req.pod.name))) {
    throw invalid(`invalid pod name \`${req.pod.name}\``, 'a pod name is a DNS subdomain')
  }
  if (req.audiences.length === 0 || req.audiences.some((a) => a.length === 0 || a.length > 1024)) {
    throw invalid('at least one non-empty audience is required')
  }
  const exp = req.expirationSeconds ?? DEFAULT_TOKEN_EXPIRATION_SECONDS
  if (!Number.isInteger(exp) || exp < 1 || exp > MAX_TOKEN_LIFETIME_SECONDS) {
    throw invalid(`expiration must be an integer from 1 to ${MAX_TOKEN_LIFETIME_SECONDS} seconds`)
  }
}

/**
 * A deterministic RFC 4122-shaped UID (version 5 layout over SHA-256) from its parts: the same namespace and
 * pod name always give the same pod uid, so trust policies and session tags are reproducible.
 *
 * @example deriveUid('pod', 'default', 'web-0') // '…-…-5…-…-…'
 */
export function deriveUid(...parts: string[]): string {
  const h = createHash('sha256').update(parts.join('\u0000')).digest()
  h[6] = (h[6]! & 0x0f) | 0x50
  h[8] = (h[8]! & 0x3f) | 0x80
  const hex = h.subarray(0, 16).toString('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`
}

/**
 * Signs a service-account token with the issuer's current key.
 *
 * @example
 * const token = await mintServiceAccountToken(db, {
 *   namespace: 'default', serviceAccount: 'app', audiences: ['sts.amazonaws.com'], now: new Date(),
 * })
 */
export async function mintServiceAccountToken(db: Queryable, req: MintRequest): Promise<string> {
  validateMintRequest(req)
  const issuerName = req.issuer ?? DEFAULT_ISSUER
  const issuer = await getIssuer(db, issuerName)
  if (issuer === undefined) {
    throw new IssuerError('ISSUER_NOT_FOUND', `issuer \`${issuerName}\` does not exist`, {
      hint: issuerName.startsWith('cluster:')
        ? `register the cluster first: podtrust cluster add ${issuerName.slice('cluster:'.length)}`
        : 'start the server once (podtrust up) or apply a config to create it',
    })
  }
  const key = await currentSigningKey(db, issuerName, req.now)
  const iat = Math.floor(req.now.getTime() / 1000)
  const exp = iat + (req.expirationSeconds ?? DEFAULT_TOKEN_EXPIRATION_SECONDS)
  const k8s: Record<string, unknown> = {
    namespace: req.namespace,
    ...(req.pod === undefined ? {} : { pod: { name: req.pod.name, uid: req.pod.uid } }),
    serviceaccount: {
      name: req.serviceAccount,
      uid:
        req.serviceAccountUid ??
        deriveUid('serviceaccount', issuer.url, req.namespace, req.serviceAccount),
    },
  }
  return new SignJWT({ 'kubernetes.io': k8s })
    .setProtectedHeader({ alg: key.alg, kid: key.kid })
    .setIssuer(issuer.url)
    .setSubject(`system:serviceaccount:${req.namespace}:${req.serviceAccount}`)
    .setAudience(req.audiences)
    .setIssuedAt(iat)
    .setNotBefore(iat)
    .setExpirationTime(exp)
    .setJti((req.randomUUID ?? randomUUID)())
    .sign(key.privateKey)
}
