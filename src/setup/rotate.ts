/**
 * @module setup/rotate
 * Key rotation for a live self-hosted cluster, one checked step at a time (Kubernetes' own advice for
 * rotating service-account keys: verify with old and new, then sign with new, then drop old):
 *
 *   add-next  a new key pair; its public half joins the JWKS and the API server's key file
 *   publish   the JWKS with both keys goes to the issuer host (`issuer publish`), so relying parties see it
 *   switch    the new key signs; the old one stays in the JWKS and key file as `previous`
 *   retire    once the longest token lifetime has passed since the switch, the old key leaves
 *
 * Each step refuses to run out of order; `status` says what comes next and when retiring is safe.
 */
import { SetupError } from './errors.ts'
import { type ServiceAccountKeyPair, generateServiceAccountKey } from './keys.ts'
import type { RotationPhase, SetupCluster } from './store.ts'

export type RotationStep = 'add-next' | 'publish' | 'switch' | 'retire'
export const ROTATION_STEPS: readonly RotationStep[] = ['add-next', 'publish', 'switch', 'retire']

const NEXT_STEP: Record<RotationPhase, RotationStep> = {
  steady: 'add-next',
  'next-added': 'publish',
  'next-published': 'switch',
  switched: 'retire',
}

export function nextStep(c: SetupCluster): RotationStep {
  return NEXT_STEP[c.state.phase]
}

/** When the previous key may leave the JWKS: the switch plus the longest token lifetime. */
export function retireSafeAt(c: SetupCluster): Date | undefined {
  if (c.state.phase !== 'switched' || c.state.switchedAt === undefined) return undefined
  return new Date(Date.parse(c.state.switchedAt) + c.state.maxTokenLifetimeSeconds * 1000)
}

export function rotationStatus(c: SetupCluster, now: Date): string[] {
  const lines = [
    `cluster ${c.name}: rotation phase ${c.state.phase}, next step: ${nextStep(c)}`,
    ...c.state.keys.map(
      (k) => `  ${k.role.padEnd(8)} ${k.jwk.kid} (${k.jwk.alg}, added ${k.addedAt})`,
    ),
  ]
  if (c.state.publishedAt !== undefined)
    lines.push(
      `  published ${c.state.publishedAt}${c.publishedTo === undefined ? '' : ` to ${c.publishedTo}`}`,
    )
  const safe = retireSafeAt(c)
  if (safe !== undefined) {
    lines.push(
      safe <= now
        ? `  retire is safe now (every token of the previous key expired at ${safe.toISOString()})`
        : `  retire is safe from ${safe.toISOString()} (the longest token lifetime after the switch)`,
    )
  }
  return lines
}

function refuse(c: SetupCluster, step: RotationStep): never {
  throw new SetupError(
    'ROTATION_OUT_OF_ORDER',
    `cannot run '${step}' in phase '${c.state.phase}'`,
    {
      hint: `the next step is '${nextStep(c)}': podtrust cluster rotate ${c.name} --step ${nextStep(c)}`,
    },
  )
}

/** Throws ROTATION_OUT_OF_ORDER unless `step` is the cluster's next step. */
export function check(c: SetupCluster, step: RotationStep): void {
  if (nextStep(c) !== step) refuse(c, step)
}

/** add-next: a new key pair, published alongside the current one (returns the private half to write). */
export function addNextKey(
  c: SetupCluster,
  now: Date,
): { cluster: SetupCluster; key: ServiceAccountKeyPair } {
  check(c, 'add-next')
  const current = c.state.keys.find((k) => k.role === 'current')
  const key = generateServiceAccountKey(current?.jwk.alg === 'ES256' ? 'ES256' : 'RS256')
  return {
    key,
    cluster: {
      ...c,
      state: {
        ...c.state,
        phase: 'next-added',
        keys: [
          ...c.state.keys,
          { role: 'next', jwk: key.jwk, publicPem: key.publicPem, addedAt: now.toISOString() },
        ],
      },
    },
  }
}

/** Records a publish; during rotation it moves `next-added` on to `next-published`. */
export function markPublished(c: SetupCluster, to: string, now: Date): SetupCluster {
  return {
    ...c,
    publishedTo: to,
    state: {
      ...c.state,
      publishedAt: now.toISOString(),
      phase: c.state.phase === 'next-added' ? 'next-published' : c.state.phase,
    },
  }
}

export function requirePublishStep(c: SetupCluster): void {
  check(c, 'publish')
}

export function switchSigningKey(c: SetupCluster, now: Date): SetupCluster {
  check(c, 'switch')
  return {
    ...c,
    state: {
      ...c.state,
      phase: 'switched',
      switchedAt: now.toISOString(),
      keys: c.state.keys.map((k) => ({
        ...k,
        role: k.role === 'current' ? 'previous' : k.role === 'next' ? 'current' : k.role,
      })),
    },
  }
}

export function retirePreviousKey(c: SetupCluster, now: Date): SetupCluster {
  check(c, 'retire')
  const safe = retireSafeAt(c)
  if (safe !== undefined && now < safe) {
    throw new SetupError(
      'ROTATION_TOO_EARLY',
      `tokens signed with the previous key may be valid until ${safe.toISOString()}`,
      { hint: `retire after ${safe.toISOString()} (podtrust cluster rotate ${c.name} --status)` },
    )
  }
  const state = {
    ...c.state,
    phase: 'steady' as const,
    keys: c.state.keys.filter((k) => k.role !== 'previous'),
  }
  delete state.switchedAt
  return { ...c, state }
}
