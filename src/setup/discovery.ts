/**
 * @module setup/discovery
 * The static discovery bundle a self-hosted issuer publishes: the OpenID discovery document at
 * `<issuer>/.well-known/openid-configuration` and the JWKS at its `jwks_uri` (`<issuer>/openid/v1/jwks`, the
 * path kube-apiserver itself serves). The document carries what kube-apiserver serves
 * (https://kubernetes.io/docs/tasks/configure-pod-container/configure-service-account/#service-account-issuer-discovery);
 * the `issuer` must equal the tokens' `iss` character for character.
 */
import type { PublicJwk } from './keys.ts'

export const DISCOVERY_OBJECT = '.well-known/openid-configuration'
export const JWKS_OBJECT = 'openid/v1/jwks'
/** The content type AWS STS and the other relying parties expect for both documents. */
export const DISCOVERY_CONTENT_TYPE = 'application/json'

export function jwksUriOf(issuerUrl: string): string {
  return `${issuerUrl.replace(/\/+$/, '')}/${JWKS_OBJECT}`
}

export function discoveryDocumentFor(issuerUrl: string, algs: readonly string[]): object {
  return {
    issuer: issuerUrl,
    jwks_uri: jwksUriOf(issuerUrl),
    response_types_supported: ['id_token'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: [...new Set(algs)].sort(),
  }
}

export function jwksFor(keys: readonly PublicJwk[]): { keys: PublicJwk[] } {
  return { keys: [...keys] }
}

/** The two objects, relative paths under the issuer's root, with their bodies. */
export function discoveryBundle(
  issuerUrl: string,
  keys: readonly PublicJwk[],
): { path: string; body: string }[] {
  return [
    {
      path: DISCOVERY_OBJECT,
      body: `${JSON.stringify(
        discoveryDocumentFor(
          issuerUrl,
          keys.map((k) => k.alg),
        ),
        null,
        2,
      )}\n`,
    },
    { path: JWKS_OBJECT, body: `${JSON.stringify(jwksFor(keys), null, 2)}\n` },
  ]
}
