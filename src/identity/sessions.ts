/**
 * @module identity/sessions
 * Role sessions, user sessions and federated user sessions: mints the temporary credentials (ASIA key id,
 * secret, sealed session token) and opens them again. The token carries everything needed to authenticate and
 * authorize later requests (role, session name, tags, session policies, issue time), so no lookup is needed.
 */
import { deflateRawSync } from 'node:zlib'
import {
  newAccessKeyId,
  newSecretAccessKey,
  openToken,
  sealToken,
  CredentialError,
  tokenKid,
} from './credentials.ts'
import type { Caller, FederatedUserSessionInfo, RoleSessionInfo, SessionTag } from './types.ts'
import type { IdentityPorts, IdentityRole } from './ports.ts'

/** What minting and opening sessions needs: the keyring, the clock and randomness. */
export type SessionPorts = Pick<IdentityPorts, 'keyring' | 'now' | 'randomBytes'>

/** Opens `token` with the keyring, refreshing it once when the token names a key id it does not hold. */
export async function keyringFor(ports: SessionPorts, token: string, now: Date) {
  const keyring = await ports.keyring.current(now)
  const kid = tokenKid(token)
  return kid !== undefined && !keyring.byKid.has(kid) ? ports.keyring.refresh(now) : keyring
}

export interface TemporaryCredentials {
  accessKeyId: string
  secretAccessKey: string
  sessionToken: string
  expiration: Date
}

export interface CreateRoleSessionInput {
  role: IdentityRole
  sessionName: string
  durationSeconds: number
  sourceIdentity?: string
  tags?: SessionTag[]
  transitiveTagKeys?: string[]
  inheritedTransitiveTags?: SessionTag[]
  sessionPolicy?: string
  sessionPolicyArns?: string[]
  webIdentity?: { provider: string; subject: string; audience: string }
  /** The caller was itself a role session (role chaining). */
  chained?: boolean
}

export interface RoleSessionResult {
  credentials: TemporaryCredentials
  assumedRoleUser: { arn: string; assumedRoleId: string }
  /** Percentage of the packed-policy budget used; 0 when nothing was packed (no policy, no tags). */
  packedPolicySize: number
  session: RoleSessionInfo
}

/** The compressed budget session policies + session tags share (podtrust's documented estimator; AWS's is unpublished). */
export const PACKED_POLICY_BUDGET_BYTES = 1024

/**
 * Packed size as AWS reports it (a percentage of the allotted space), estimated deterministically as the
 * deflated size of the compact session policy, the policy ARNs and the session tags over the budget.
 */
export function packedPolicyPercent(input: {
  sessionPolicy?: string | undefined
  sessionPolicyArns?: readonly string[] | undefined
  tags?: readonly SessionTag[] | undefined
}): number {
  const nothing =
    input.sessionPolicy === undefined &&
    (input.sessionPolicyArns ?? []).length === 0 &&
    (input.tags ?? []).length === 0
  if (nothing) return 0
  let policy = input.sessionPolicy ?? ''
  try {
    if (policy !== '') policy = JSON.stringify(JSON.parse(policy))
  } catch {
    /* measured as given */
  }
  const packed = deflateRawSync(
    Buffer.from(
      JSON.stringify([
        policy,
        input.sessionPolicyArns ?? [],
        (input.tags ?? []).map((t) => [t.key, t.value]),
      ]),
    ),
  )
  return Math.max(1, Math.ceil((packed.length * 100) / PACKED_POLICY_BUDGET_BYTES))
}

/** Session tags override inherited transitive tags with the same key (keys compare case-insensitively). */
export function mergeTags(
  base: readonly SessionTag[],
  override: readonly SessionTag[],
): SessionTag[] {
  const out = new Map<string, SessionTag>()
  for (const t of base) out.set(t.key.toLowerCase(), t)
  for (const t of override) out.set(t.key.toLowerCase(), t)
  return [...out.values()]
}

export function assumedRoleArn(
  role: { arn: string; roleName: string; accountId: string },
  sessionName: string,
): string {
  const partition = role.arn.split(':')[1] ?? 'aws'
  return `arn:${partition}:sts::${role.accountId}:assumed-role/${role.roleName}/${sessionName}`
}

// ---- sealed payloads -----------------------------------------------------------------------------------------

interface RolePayload {
  v: 1
  k: 'role'
  a: string
  s: string
  acct: string
  iat: number
  exp: number
  ra: string
  rn: string
  rid: string
  rp: string
  sn: string
  tg: [string, string][]
  ttk: string[]
  sp: string[]
  spa: string[]
  si?: string
  wi?: { p: string; s: string; a: string }
  ch: boolean
}

interface UserPayload {
  v: 1
  k: 'user'
  a: string
  s: string
  acct: string
  iat: number
  exp: number
  ua: string
  uid: string
  un: string
  root?: boolean
}

/** A federated user session (GetFederationToken). */
interface FederatedPayload {
  v: 1
  k: 'fed'
  a: string
  s: string
  acct: string
  iat: number
  exp: number
  /** The federated user's name. */
  fn: string
  ua: string
  uid: string
  un: string
  tg: [string, string][]
  sp: string[]
  spa: string[]
}

type SessionPayload = RolePayload | UserPayload | FederatedPayload

/**
 * What every temporary credential starts from: the issue time (whole seconds, as STS reports it), the
 * expiry, a fresh `ASIA…` key id in the account and its secret, and the sealed payload's common fields.
 * Callers extend `common` with `Object.assign` and set optional fields by assignment: V8 (Node 20) defines
 * every property written after a leading spread (`{ ...common, k: … }`) through a runtime call, which made
 * one role payload cost ~20 µs to build and serialise instead of ~4 µs (profiled in `npm run bench:sts`).
 */
function newTemporaryKey(ctx: SessionPorts, accountId: string, durationSeconds: number) {
  const now = ctx.now()
  const issuedAt = new Date(Math.floor(now.getTime() / 1000) * 1000)
  const expiration = new Date(issuedAt.getTime() + durationSeconds * 1000)
  const accessKeyId = newAccessKeyId('temporary', accountId, ctx.randomBytes)
  const secretAccessKey = newSecretAccessKey(ctx.randomBytes)
  const common = {
    v: 1 as const,
    a: accessKeyId,
    s: secretAccessKey,
    acct: accountId,
    iat: issuedAt.getTime(),
    exp: expiration.getTime(),
  }
  return { now, issuedAt, expiration, accessKeyId, secretAccessKey, common }
}

/** The credentials of a sealed payload: its key id and secret, and the token sealed under the active key. */
async function sealCredentials(
  ctx: SessionPorts,
  now: Date,
  payload: UserPayload | FederatedPayload,
  expiration: Date,
): Promise<TemporaryCredentials> {
  const keyring = await ctx.keyring.current(now)
  return {
    accessKeyId: payload.a,
    secretAccessKey: payload.s,
    sessionToken: sealToken(keyring, payload, ctx.randomBytes),
    expiration,
  }
}

export async function createRoleSession(
  ctx: SessionPorts,
  input: CreateRoleSessionInput,
): Promise<RoleSessionResult> {
  const { role } = input
  const { now, issuedAt, expiration, accessKeyId, secretAccessKey, common } = newTemporaryKey(
    ctx,
    role.accountId,
    input.durationSeconds,
  )
  const inherited = input.inheritedTransitiveTags ?? []
  const tags = mergeTags(inherited, input.tags ?? [])
  const requestedTransitive = input.transitiveTagKeys ?? []
  // Inherited transitive tags stay transitive down the chain.
  const transitive = [
    ...new Map(
      [...inherited.map((t) => t.key), ...requestedTransitive].map((k) => [k.toLowerCase(), k]),
    ).values(),
  ]
  const session: RoleSessionInfo = {
    roleArn: role.arn,
    roleName: role.roleName,
    roleId: role.roleId,
    rolePath: role.path,
    sessionName: input.sessionName,
    issuedAt,
    expiration,
    tags,
    transitiveTagKeys: transitive,
    sessionPolicies: input.sessionPolicy === undefined ? [] : [input.sessionPolicy],
    sessionPolicyArns: input.sessionPolicyArns ?? [],
    chained: input.chained === true,
  }
  if (input.sourceIdentity !== undefined) session.sourceIdentity = input.sourceIdentity
  if (input.webIdentity !== undefined) session.webIdentity = input.webIdentity
  const payload: RolePayload = Object.assign(common, {
    k: 'role' as const,
    ra: role.arn,
    rn: role.roleName,
    rid: role.roleId,
    rp: role.path,
    sn: input.sessionName,
    tg: tags.map((t): [string, string] => [t.key, t.value]),
    ttk: transitive,
    sp: session.sessionPolicies,
    spa: session.sessionPolicyArns,
    ch: session.chained,
  })
  if (input.sourceIdentity !== undefined) payload.si = input.sourceIdentity
  if (input.webIdentity !== undefined) {
    const { provider, subject, audience } = input.webIdentity
    payload.wi = { p: provider, s: subject, a: audience }
  }
  const keyring = await ctx.keyring.current(now)
  const sessionToken = sealToken(keyring, payload, ctx.randomBytes)
  return {
    credentials: { accessKeyId, secretAccessKey, sessionToken, expiration },
    assumedRoleUser: {
      arn: assumedRoleArn(role, input.sessionName),
      assumedRoleId: `${role.roleId}:${input.sessionName}`,
    },
    packedPolicySize: packedPolicyPercent({
      sessionPolicy: input.sessionPolicy,
      sessionPolicyArns: input.sessionPolicyArns,
      tags: input.tags,
    }),
    session,
  }
}

/** GetSessionToken: temporary credentials for an IAM user (or root), same identity, no session policies. */
export async function createUserSession(
  ctx: SessionPorts,
  input: {
    accountId: string
    userArn: string
    userId: string
    userName: string
    root?: boolean
    durationSeconds: number
  },
): Promise<{ credentials: TemporaryCredentials }> {
  const { now, expiration, common } = newTemporaryKey(ctx, input.accountId, input.durationSeconds)
  const payload: UserPayload = Object.assign(common, {
    k: 'user' as const,
    ua: input.userArn,
    uid: input.userId,
    un: input.userName,
  })
  if (input.root === true) payload.root = true
  return { credentials: await sealCredentials(ctx, now, payload, expiration) }
}

/** `arn:PARTITION:sts::ACCOUNT:federated-user/NAME`, in the partition of the user who federated. */
export function federatedUserArn(userArn: string, accountId: string, name: string): string {
  const partition = userArn.split(':')[1] ?? 'aws'
  return `arn:${partition}:sts::${accountId}:federated-user/${name}`
}

export interface CreateFederatedUserSessionInput {
  accountId: string
  userArn: string
  userId: string
  userName: string
  name: string
  durationSeconds: number
  tags: SessionTag[]
  sessionPolicy?: string | undefined
  sessionPolicyArns: string[]
}

export interface FederatedUserSessionResult {
  credentials: TemporaryCredentials
  federatedUser: { arn: string; federatedUserId: string }
  session: FederatedUserSessionInfo
}

/** GetFederationToken: temporary credentials for a federated user session of an IAM user. */
export async function createFederatedUserSession(
  ctx: SessionPorts,
  input: CreateFederatedUserSessionInput,
): Promise<FederatedUserSessionResult> {
  const { now, issuedAt, expiration, common } = newTemporaryKey(
    ctx,
    input.accountId,
    input.durationSeconds,
  )
  const session: FederatedUserSessionInfo = {
    name: input.name,
    userArn: input.userArn,
    userId: input.userId,
    userName: input.userName,
    issuedAt,
    expiration,
    tags: input.tags,
    sessionPolicies: input.sessionPolicy === undefined ? [] : [input.sessionPolicy],
    sessionPolicyArns: input.sessionPolicyArns,
  }
  const payload: FederatedPayload = Object.assign(common, {
    k: 'fed' as const,
    fn: input.name,
    ua: input.userArn,
    uid: input.userId,
    un: input.userName,
    tg: input.tags.map((t): [string, string] => [t.key, t.value]),
    sp: session.sessionPolicies,
    spa: session.sessionPolicyArns,
  })
  return {
    credentials: await sealCredentials(ctx, now, payload, expiration),
    federatedUser: {
      arn: federatedUserArn(input.userArn, input.accountId, input.name),
      federatedUserId: `${input.accountId}:${input.name}`,
    },
    session,
  }
}

/** The caller behind a federated user session token. */
function federatedCaller(payload: FederatedPayload, expiration: Date): Caller {
  const issuedAt = new Date(payload.iat)
  return {
    arn: federatedUserArn(payload.ua, payload.acct, payload.fn),
    accountId: payload.acct,
    userId: `${payload.acct}:${payload.fn}`,
    accessKeyId: payload.a,
    type: 'FederatedUser',
    tokenIssuedAt: issuedAt,
    federatedUser: {
      name: payload.fn,
      userArn: payload.ua,
      userId: payload.uid,
      userName: payload.un,
      issuedAt,
      expiration,
      tags: payload.tg.map(([key, value]) => ({ key, value })),
      sessionPolicies: payload.sp,
      sessionPolicyArns: payload.spa,
    },
  }
}

export interface OpenedSession {
  accessKeyId: string
  secretAccessKey: string
  expiration: Date
  caller: Caller
}

/**
 * Opens a session token (refreshing the keyring once when its key id is unknown, e.g. rotated on another
 * replica). Throws `CredentialError` when the token is not one podtrust sealed.
 */
export async function openSessionToken(ctx: SessionPorts, token: string): Promise<OpenedSession> {
  const keyring = await keyringFor(ctx, token, ctx.now())
  const payload = openToken(keyring, token) as SessionPayload
  if (payload === null || typeof payload !== 'object' || payload.v !== 1)
    throw new CredentialError('TOKEN_INVALID', 'unknown session token version')
  const expiration = new Date(payload.exp)
  if (payload.k === 'user') {
    const caller: Caller = {
      arn: payload.ua,
      accountId: payload.acct,
      userId: payload.uid,
      accessKeyId: payload.a,
      type: payload.root === true ? 'Root' : 'IAMUser',
      userName: payload.un,
      federatedFromUser: true,
      tokenIssuedAt: new Date(payload.iat),
    }
    return { accessKeyId: payload.a, secretAccessKey: payload.s, expiration, caller }
  }
  if (payload.k === 'fed') {
    const caller = federatedCaller(payload, expiration)
    return { accessKeyId: payload.a, secretAccessKey: payload.s, expiration, caller }
  }
  const session: RoleSessionInfo = {
    roleArn: payload.ra,
    roleName: payload.rn,
    roleId: payload.rid,
    rolePath: payload.rp,
    sessionName: payload.sn,
    issuedAt: new Date(payload.iat),
    expiration,
    tags: payload.tg.map(([key, value]) => ({ key, value })),
    transitiveTagKeys: payload.ttk,
    sessionPolicies: payload.sp,
    sessionPolicyArns: payload.spa,
    chained: payload.ch,
    ...(payload.si === undefined ? {} : { sourceIdentity: payload.si }),
    ...(payload.wi === undefined
      ? {}
      : { webIdentity: { provider: payload.wi.p, subject: payload.wi.s, audience: payload.wi.a } }),
  }
  const caller: Caller = {
    arn: assumedRoleArn(
      { arn: payload.ra, roleName: payload.rn, accountId: payload.acct },
      payload.sn,
    ),
    accountId: payload.acct,
    userId: `${payload.rid}:${payload.sn}`,
    accessKeyId: payload.a,
    type: 'AssumedRole',
    session,
  }
  return { accessKeyId: payload.a, secretAccessKey: payload.s, expiration, caller }
}
