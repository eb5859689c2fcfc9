/**
 * @module azure/fic
 * Federated identity credential (FIC) rules, pure: validation of the object (Graph / ARM limits), the
 * exact, case-sensitive issuer/subject/audience match, and the flexible claims-matching expression
 * (`claims['sub'] matches 'system:serviceaccount:team-*:*' and claims['x'] eq 'y'`). Facts from
 * https://learn.microsoft.com/entra/workload-id/workload-identity-federation-considerations and
 * https://learn.microsoft.com/graph/api/resources/federatedidentitycredentials-overview.
 */
import { EntraError } from './errors.ts'

export const MAX_FICS_PER_IDENTITY = 20
export const DEFAULT_FIC_AUDIENCE = 'api://AzureADTokenExchange'
const MAX_FIELD = 600
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{2,119}$/

export interface FederatedCredential {
  name: string
  issuer: string
  /** Exactly one of `subject` and `claimsMatchingExpression`. */
  subject?: string
  claimsMatchingExpression?: string
  /** Exactly one value (Entra rejects more). */
  audiences: string[]
  description?: string
}

/** Problems with a FIC definition, as messages naming the field; empty when valid. */
export function validateFederatedCredential(fic: FederatedCredential): string[] {
  const problems: string[] = []
  if (!NAME_PATTERN.test(fic.name)) {
    problems.push(`Federated Identity Credential name '${fic.name}' is invalid.`)
  }
  if (fic.issuer === '' || fic.issuer.length > MAX_FIELD) {
    problems.push(`issuer must be 1 to ${MAX_FIELD} characters`)
  }
  if (fic.issuer.trim() !== fic.issuer)
    problems.push('issuer must not have leading or trailing whitespace')
  const hasSubject = fic.subject !== undefined
  const hasExpression = fic.claimsMatchingExpression !== undefined
  if (hasSubject === hasExpression) {
    problems.push('exactly one of subject and claimsMatchingExpression is required')
  }
  if (hasSubject && (fic.subject === '' || fic.subject!.length > MAX_FIELD)) {
    problems.push(`subject must be 1 to ${MAX_FIELD} characters`)
  }
  if (hasSubject && fic.subject!.includes('*')) {
    problems.push('subject does not support wildcards; use claimsMatchingExpression')
  }
  if (hasExpression) {
    try {
      parseClaimsExpression(fic.claimsMatchingExpression!)
    } catch (err) {
      problems.push(`claimsMatchingExpression: ${(err as Error).message}`)
    }
  }
  if (fic.audiences.length !== 1) {
    problems.push('Federated identity credentials must have exactly one audience')
  } else if (fic.audiences[0] === '' || fic.audiences[0]!.length > MAX_FIELD) {
    problems.push(`audience must be 1 to ${MAX_FIELD} characters`)
  }
  if (fic.description !== undefined && fic.description.length > MAX_FIELD) {
    problems.push(`description must be at most ${MAX_FIELD} characters`)
  }
  return problems
}

/** Problems with a set of FICs on one identity: count, duplicate names, duplicate issuer+subject pairs. */
export function validateFederatedCredentialSet(fics: readonly FederatedCredential[]): string[] {
  const problems: string[] = []
  if (fics.length > MAX_FICS_PER_IDENTITY) {
    problems.push(`at most ${MAX_FICS_PER_IDENTITY} federated identity credentials per identity`)
  }
  const names = new Set<string>()
  const pairs = new Set<string>()
  for (const fic of fics) {
    // Names are an alternate key: compared case-insensitively like other Graph keys.
    const name = fic.name.toLowerCase()
    if (names.has(name)) problems.push(`duplicate federated identity credential name '${fic.name}'`)
    names.add(name)
    const pair = `${fic.issuer}\n${fic.subject ?? fic.claimsMatchingExpression}`
    if (pairs.has(pair)) {
      problems.push('Issuer and subject combination already exists for this Managed Identity.')
    }
    pairs.add(pair)
  }
  return problems
}

// ---- claims-matching expressions -------------------------------------------------------------------

export interface ClaimsTerm {
  claim: string
  op: 'matches' | 'eq'
  value: string
}

/**
 * Parses Entra's flexible FIC language: terms `claims['NAME'] (matches|eq) 'VALUE'` joined by `and`.
 * `matches` takes wildcards `*` (any run of characters) and `?` (exactly one character).
 */
export function parseClaimsExpression(source: string): ClaimsTerm[] {
  const tokenPattern = /\s*(?:(claims)\s*\[\s*'([^']*)'\s*\]|'([^']*)'|([A-Za-z]+))/y
  const tokens: { kind: 'claim' | 'string' | 'word'; value: string }[] = []
  tokenPattern.lastIndex = 0
  let pos = 0
  while (pos < source.length) {
    if (/^\s*$/.test(source.slice(pos))) break
    tokenPattern.lastIndex = pos
    const m = tokenPattern.exec(source)
    if (m === null) throw new Error(`unexpected input at offset ${pos}`)
    if (m[1] !== undefined) tokens.push({ kind: 'claim', value: m[2]! })
    else if (m[3] !== undefined) tokens.push({ kind: 'string', value: m[3] })
    else tokens.push({ kind: 'word', value: m[4]! })
    pos = tokenPattern.lastIndex
  }
  const terms: ClaimsTerm[] = []
  let i = 0
  for (;;) {
    const claim = tokens[i]
    const op = tokens[i + 1]
    const value = tokens[i + 2]
    if (claim?.kind !== 'claim') throw new Error("expected claims['NAME']")
    if (claim.value === '') throw new Error('empty claim name')
    if (op?.kind !== 'word' || (op.value !== 'matches' && op.value !== 'eq')) {
      throw new Error("expected 'matches' or 'eq'")
    }
    if (value?.kind !== 'string') throw new Error('expected a single-quoted string')
    terms.push({ claim: claim.value, op: op.value, value: value.value })
    i += 3
    if (i === tokens.length) return terms
    const joiner = tokens[i]
    if (joiner?.kind !== 'word' || joiner.value !== 'and') throw new Error("expected 'and'")
    i += 1
  }
}

/**
 * `*` matches any run of characters, `?` exactly one; everything else literally; case-sensitive. Greedy
 * matching with one backtrack point (the last `*`): linear in practice, never exponential.
 */
export function wildcardMatches(pattern: string, value: string): boolean {
  const p = [...pattern]
  const v = [...value]
  let pi = 0
  let vi = 0
  let star = -1
  let mark = 0
  while (vi < v.length) {
    if (pi < p.length && (p[pi] === '?' || (p[pi] !== '*' && p[pi] === v[vi]))) {
      pi += 1
      vi += 1
    } else if (pi < p.length && p[pi] === '*') {
      star = pi
      mark = vi
      pi += 1
    } else if (star >= 0) {
      pi = star + 1
      mark += 1
      vi = mark
    } else return false
  }
  while (pi < p.length && p[pi] === '*') pi += 1
  return pi === p.length
}

export function evaluateClaimsExpression(
  terms: readonly ClaimsTerm[],
  claims: Record<string, unknown>,
): boolean {
  return terms.every((term) => {
    const value = claims[term.claim]
    if (typeof value !== 'string') return false
    return term.op === 'eq' ? value === term.value : wildcardMatches(term.value, value)
  })
}

// ---- matching ----------------------------------------------------------------------------------------

const GUIDANCE =
  'Please check your federated identity credential Subject, Audience and Issuer against the presented assertion. https://learn.microsoft.com/entra/workload-id/workload-identity-federation'

/** The FICs whose issuer equals the assertion's `iss` exactly; throws AADSTS700211 when there is none. */
export function ficsForIssuer(
  fics: readonly FederatedCredential[],
  issuer: string,
): FederatedCredential[] {
  const candidates = fics.filter((fic) => fic.issuer === issuer)
  if (candidates.length === 0) {
    throw new EntraError(
      700211,
      `No matching federated identity record found for presented assertion issuer '${issuer}'. ${GUIDANCE}`,
    )
  }
  return candidates
}

/**
 * Picks the FIC (among those of the right issuer) whose subject (or expression) and audience both match
 * the verified assertion. Throws AADSTS700213 (no subject matches), 7002131 (no expression matches),
 * 700212 (subjects match but no audience does) or 70021 (subject and audience match different FICs).
 */
export function matchFederatedCredential(
  candidates: readonly FederatedCredential[],
  assertion: {
    issuer: string
    subject: string
    audience: readonly string[]
    claims: Record<string, unknown>
  },
): FederatedCredential {
  const subjectMatches = candidates.filter((fic) =>
    fic.subject !== undefined
      ? fic.subject === assertion.subject
      : evaluateClaimsExpression(
          parseClaimsExpression(fic.claimsMatchingExpression!),
          assertion.claims,
        ),
  )
  const audienceText = assertion.audience.join(',')
  if (subjectMatches.length === 0) {
    const onlyExpressions = candidates.every((fic) => fic.subject === undefined)
    if (onlyExpressions) {
      throw new EntraError(
        7002131,
        `No matching federated identity record found for presented assertion subject '${assertion.subject}'. No federated identity credential expression matched the presented assertion. ${GUIDANCE}`,
      )
    }
    throw new EntraError(
      700213,
      `No matching federated identity record found for presented assertion subject '${assertion.subject}'. ${GUIDANCE}`,
    )
  }
  const match = subjectMatches.find((fic) => assertion.audience.includes(fic.audiences[0]!))
  if (match !== undefined) return match
  const anyAudience = candidates.some((fic) => assertion.audience.includes(fic.audiences[0]!))
  if (anyAudience) {
    throw new EntraError(
      70021,
      `No matching federated identity record found for presented assertion. Assertion Issuer: '${assertion.issuer}'. Assertion Subject: '${assertion.subject}'. Assertion Audience: '${audienceText}'. ${GUIDANCE}`,
    )
  }
  throw new EntraError(
    700212,
    `No matching federated identity record found for presented assertion audience '${audienceText}'. ${GUIDANCE}`,
  )
}
