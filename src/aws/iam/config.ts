/**
 * @module aws/iam/config
 * The IAM sections of podtrust's YAML config: `accounts`, `policies`, `oidcProviders`, `users` (with their login
 * profiles), `roles`, and the helpers `groups` (config-groups.ts) shares; the apply order is config-sections.ts.
 * Applying is idempotent and declarative per listed entity: an entity is created or updated to match the
 * file (its inline policies and managed attachments become exactly the listed ones); entities the file does
 * not list are left alone. Documents go through the same checks as the IAM API (engine validation, size
 * quotas), and errors name the config path. `export` writes every entity back (access key secrets never; a
 * login profile as its scrypt hash, never a password).
 *
 * @example
 * roles:
 *   - name: app
 *     assumeRolePolicy: { Version: '2012-10-17', Statement: [ … ] }
 *     managedPolicies: [arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess]
 */
import { randomBytes as nodeRandomBytes } from 'node:crypto'
import { invalidAt } from '../../config/errors.ts'
import {
  boolean,
  integer,
  join,
  list,
  object,
  optional,
  string,
  stringMap,
} from '../../config/schema.ts'
import type { ConfigEnv, ConfigSection } from '../../config/section.ts'
import { AwsError } from '../errors.ts'
import { newUser } from './actions-users.ts'
import { ADMINISTRATOR_ACCESS_ARN, BOOTSTRAP_ADMIN_USER } from './bootstrap.ts'
import {
  checkInlineTotal,
  checkManagedPolicySize,
  checkPolicyDocument,
  checkTrustPolicySize,
} from './documents.ts'
import { ID_PREFIX, newUniqueId, oidcProviderArn, policyArn, roleArn } from './ids.ts'
import { hashPassword, passwordMatches, passwordRules, PASSWORD_HASH_PATTERN } from './passwords.ts'
import { checkTrustPrincipals } from './principals.ts'
import { createIamRepo, type IamRepo, type PrincipalType, type Tag } from './repo.ts'
import {
  checkClientIds,
  checkOidcUrl,
  checkTags,
  checkThumbprints,
  problemsOf,
  throwIfProblems,
  pathRules,
  policyPathRules,
} from './validate.ts'

export const random = (n: number) => new Uint8Array(nodeRandomBytes(n))
export const NAME = /^[\w+=,.@-]+$/
const ACCOUNT = /^\d{12}$/
export const HINT = 'see docs/config.md (IAM sections)'

/** Runs an IAM check and turns its AwsError into a ConfigError at `path`. */
export async function at<T>(path: string, fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (err) {
    if (err instanceof AwsError) throw invalidAt(path, `${err.code}: ${err.message}`, HINT)
    throw err
  }
}

/** A policy document: a YAML mapping (stored as compact JSON) or a JSON string (stored verbatim). */
function documentOf(value: unknown, path: string): string {
  if (typeof value === 'string') return value
  if (typeof value === 'object' && value !== null && !Array.isArray(value))
    return JSON.stringify(value)
  throw invalidAt(path, 'expected a policy document (a mapping or a JSON string)', HINT)
}

/** Exports a document as a mapping when that round-trips byte-for-byte, else as its text. */
function exportDocument(document: string): unknown {
  try {
    const parsed = JSON.parse(document) as unknown
    if (
      typeof parsed === 'object' &&
      parsed !== null &&
      !Array.isArray(parsed) &&
      JSON.stringify(parsed) === document
    ) {
      return parsed
    }
  } catch {
    // not JSON: exported as text
  }
  return document
}

const tagsOf = (value: unknown, path: string): Tag[] =>
  Object.entries(optional(value, (v) => stringMap(v, path, { max: 50 })) ?? {}).map(([key, v]) => ({
    key,
    value: v,
  }))
const tagsMap = (tags: Tag[]): Record<string, string> | undefined =>
  tags.length === 0 ? undefined : Object.fromEntries(tags.map((t) => [t.key, t.value]))
export const accountOf = (o: Record<string, unknown>, path: string): string | undefined =>
  optional(o['account'], (v) =>
    string(typeof v === 'number' ? String(v).padStart(12, '0') : v, join(path, 'account'), {
      pattern: ACCOUNT,
    }),
  )
export const withAccount = (account: string | undefined, env: ConfigEnv) =>
  account === undefined || account === env.accountId ? {} : { account }

/**
 * Sections export the YAML shape their `parse` reads (the round trip), not the parsed value; the section
 * contract types both as one `T`, hence this one cast.
 */
export const exported = <T>(out: object[]): T[] | undefined =>
  out.length === 0 ? undefined : (out as unknown as T[])

// ---- accounts ------------------------------------------------------------------------------------------

export interface AccountConfig {
  id: string
  alias?: string
}

export const accountsSection: ConfigSection<AccountConfig[]> = {
  key: 'accounts',
  parse(value, path) {
    return list(value, path).map((item, i) => {
      const p = join(path, i)
      const o = object(item, p, { required: ['id'], optional: ['alias'] })
      const id = string(
        typeof o['id'] === 'number' ? String(o['id']).padStart(12, '0') : o['id'],
        join(p, 'id'),
        { pattern: ACCOUNT },
      )
      const alias = optional(o['alias'], (v) =>
        string(v, join(p, 'alias'), {
          pattern: /^[a-z0-9](([a-z0-9]|-(?!-))*[a-z0-9])?$/,
          min: 3,
          max: 63,
        }),
      )
      return { id, ...(alias === undefined ? {} : { alias }) }
    })
  },
  async apply(tx, value, env) {
    const repo = createIamRepo(tx)
    for (const a of value) await repo.ensureAccount(a.id, env.now, a.alias)
  },
  async export(db) {
    const all = await createIamRepo(db).listAccounts()
    return all.length === 0
      ? undefined
      : all.map((a) => ({ id: a.accountId, ...(a.alias === undefined ? {} : { alias: a.alias }) }))
  },
}

// ---- managed policies ----------------------------------------------------------------------------------

export interface PolicyConfig {
  name: string
  account?: string
  path: string
  description?: string
  document: string
  tags: Tag[]
  path_: string
}

export const policiesSection: ConfigSection<PolicyConfig[]> = {
  key: 'policies',
  parse(value, path) {
    return list(value, path).map((item, i) => {
      const p = join(path, i)
      const o = object(item, p, {
        required: ['name', 'document'],
        optional: ['account', 'path', 'description', 'tags'],
      })
      const account = accountOf(o, p)
      const description = optional(o['description'], (v) =>
        string(v, join(p, 'description'), { max: 1000 }),
      )
      return {
        name: string(o['name'], join(p, 'name'), { pattern: NAME, max: 128 }),
        ...(account === undefined ? {} : { account }),
        path: optional(o['path'], (v) => string(v, join(p, 'path'))) ?? '/',
        ...(description === undefined ? {} : { description }),
        document: documentOf(o['document'], join(p, 'document')),
        tags: tagsOf(o['tags'], join(p, 'tags')),
        path_: p,
      }
    })
  },
  async apply(tx, value, env) {
    const repo = createIamRepo(tx)
    for (const c of value) {
      const accountId = c.account ?? env.accountId
      await repo.ensureAccount(accountId, env.now)
      await at(join(c.path_, 'path'), () =>
        throwIfProblems(problemsOf('path', c.path, policyPathRules)),
      )
      await at(join(c.path_, 'tags'), () => checkTags(c.tags))
      await at(join(c.path_, 'document'), () => {
        checkPolicyDocument('policyDocument', c.document, 'managed')
        checkManagedPolicySize(c.document)
      })
      const existing = await repo.getManagedPolicyByName(accountId, c.name)
      if (existing === undefined) {
        await repo.insertManagedPolicy(
          {
            arn: policyArn(accountId, c.path, c.name),
            accountId,
            policyName: c.name,
            policyId: newUniqueId(ID_PREFIX.policy, accountId, random),
            path: c.path,
            ...(c.description === undefined ? {} : { description: c.description }),
            createDate: env.now,
            updateDate: env.now,
            tags: c.tags,
          },
          c.document,
        )
        continue
      }
      if (existing.path !== c.path || existing.policyName !== c.name) {
        throw invalidAt(
          c.path_,
          `policy \`${c.name}\` exists as ${existing.arn}; its name and path cannot change`,
          HINT,
        )
      }
      await repo.updateManagedPolicyTags(existing.arn, c.tags)
      if ((await repo.getManagedPolicyDocument(existing.arn)) !== c.document) {
        // A changed document becomes a new default version; the oldest non-default goes at the 5-version cap.
        const versions = await repo.listPolicyVersions(existing.arn)
        if (versions.length >= 5) {
          const oldest = [...versions].reverse().find((v) => !v.isDefaultVersion)
          if (oldest !== undefined) await repo.deletePolicyVersion(existing.arn, oldest.versionId)
        }
        await repo.createPolicyVersion(existing.arn, c.document, true, env.now)
      }
    }
  },
  async export(db, env) {
    const repo = createIamRepo(db)
    const out = []
    for (const a of await repo.listAccounts()) {
      for (const p of await repo.listManagedPolicies(a.accountId, { scope: 'Local' })) {
        out.push({
          name: p.policyName,
          ...withAccount(a.accountId, env),
          ...(p.path === '/' ? {} : { path: p.path }),
          ...(p.description === undefined ? {} : { description: p.description }),
          document: exportDocument((await repo.getManagedPolicyDocument(p.arn)) ?? '{}'),
          ...(p.tags.length === 0 ? {} : { tags: tagsMap(p.tags) }),
        })
      }
    }
    return exported<PolicyConfig>(out)
  },
}

// ---- OIDC providers ------------------------------------------------------------------------------------

export interface OidcProviderConfig {
  url: string
  account?: string
  clientIds: string[]
  thumbprints: string[]
  tags: Tag[]
  path_: string
}

export const oidcProvidersSection: ConfigSection<OidcProviderConfig[]> = {
  key: 'oidcProviders',
  parse(value, path) {
    return list(value, path).map((item, i) => {
      const p = join(path, i)
      const o = object(item, p, {
        required: ['url'],
        optional: ['account', 'clientIds', 'thumbprints', 'tags'],
      })
      const account = accountOf(o, p)
      const strings = (k: string) =>
        (optional(o[k], (v) => list(v, join(p, k))) ?? []).map((s, j) =>
          string(s, join(join(p, k), j)),
        )
      return {
        url: string(o['url'], join(p, 'url')),
        ...(account === undefined ? {} : { account }),
        clientIds: strings('clientIds'),
        thumbprints: strings('thumbprints').map((t) => t.toLowerCase()),
        tags: tagsOf(o['tags'], join(p, 'tags')),
        path_: p,
      }
    })
  },
  async apply(tx, value, env) {
    const repo = createIamRepo(tx)
    for (const c of value) {
      const accountId = c.account ?? env.accountId
      await repo.ensureAccount(accountId, env.now)
      const url = await at(join(c.path_, 'url'), () => checkOidcUrl(c.url))
      await at(join(c.path_, 'clientIds'), () => checkClientIds(c.clientIds))
      await at(join(c.path_, 'thumbprints'), () => checkThumbprints(c.thumbprints))
      await at(join(c.path_, 'tags'), () => checkTags(c.tags))
      const record = {
        accountId,
        arn: oidcProviderArn(accountId, url),
        url,
        clientIds: [...new Set(c.clientIds)],
        thumbprints: [...new Set(c.thumbprints)],
        tags: c.tags,
        createDate: env.now,
      }
      const existing = await repo.getOidcProviderByUrl(accountId, url)
      if (existing === undefined) await repo.insertOidcProvider(record)
      else
        await repo.updateOidcProvider({
          ...record,
          arn: existing.arn,
          createDate: existing.createDate,
        })
    }
  },
  async export(db, env) {
    const repo = createIamRepo(db)
    const out = []
    for (const a of await repo.listAccounts()) {
      for (const p of await repo.listOidcProviders(a.accountId)) {
        out.push({
          url: `https://${p.url}`,
          ...withAccount(a.accountId, env),
          clientIds: p.clientIds,
          ...(p.thumbprints.length === 0 ? {} : { thumbprints: p.thumbprints }),
          ...(p.tags.length === 0 ? {} : { tags: tagsMap(p.tags) }),
        })
      }
    }
    return exported<OidcProviderConfig>(out)
  },
}

// ---- principals (users, roles) -------------------------------------------------------------------------

/** The keys every principal entry starts with: `name` (≤ `maxName`), `account`, `path`. */
export function principalIdentity(
  o: Record<string, unknown>,
  p: string,
  maxName: number,
): { name: string; account?: string; path: string } {
  const account = accountOf(o, p)
  return {
    name: string(o['name'], join(p, 'name'), { pattern: NAME, max: maxName }),
    ...(account === undefined ? {} : { account }),
    path: optional(o['path'], (v) => string(v, join(p, 'path'))) ?? '/',
  }
}

/** Opens one principal entry: its account exists and its path passes IAM's rules; returns the account id. */
export async function enterPrincipal(
  repo: IamRepo,
  c: { account?: string; path: string; path_: string },
  env: ConfigEnv,
): Promise<string> {
  const accountId = c.account ?? env.accountId
  await repo.ensureAccount(accountId, env.now)
  await at(join(c.path_, 'path'), () => throwIfProblems(problemsOf('path', c.path, pathRules)))
  return accountId
}

/** IAM names a principal's path in its ARN, so a config never moves a user, role or group. */
export function keepPath(
  kind: PrincipalType,
  existingPath: string,
  c: { name: string; path: string; path_: string },
): void {
  if (existingPath !== c.path)
    throw invalidAt(
      join(c.path_, 'path'),
      `${kind} \`${c.name}\` exists with path ${existingPath}; a ${kind}'s path cannot change`,
      HINT,
    )
}

export interface PrincipalPolicies {
  /** Inline policies by name. */
  policies: [string, string][]
  /** Managed policy ARNs or same-account customer policy names. */
  managedPolicies: string[]
  permissionsBoundary?: string
}

export function principalPolicies(o: Record<string, unknown>, p: string): PrincipalPolicies {
  const inline =
    optional(o['policies'], (v) =>
      object(v, join(p, 'policies'), { optional: Object.keys((v ?? {}) as object) }),
    ) ?? {}
  const policies: [string, string][] = Object.entries(inline).map(([name, doc]) => {
    string(name, join(join(p, 'policies'), name), { pattern: NAME, max: 128 })
    return [name, documentOf(doc, join(join(p, 'policies'), name))]
  })
  const managedPolicies = (
    optional(o['managedPolicies'], (v) => list(v, join(p, 'managedPolicies'), { max: 20 })) ?? []
  ).map((s, j) => string(s, join(join(p, 'managedPolicies'), j)))
  const permissionsBoundary = optional(o['permissionsBoundary'], (v) =>
    string(v, join(p, 'permissionsBoundary')),
  )
  return {
    policies,
    managedPolicies,
    ...(permissionsBoundary === undefined ? {} : { permissionsBoundary }),
  }
}

async function resolvePolicyArn(
  repo: IamRepo,
  accountId: string,
  ref: string,
  path: string,
): Promise<string> {
  const p = ref.startsWith('arn:')
    ? await repo.getManagedPolicy(ref)
    : await repo.getManagedPolicyByName(accountId, ref)
  if (p === undefined || (p.accountId !== 'aws' && p.accountId !== accountId)) {
    throw invalidAt(
      path,
      `policy \`${ref}\` does not exist (define it under \`policies\` or use an AWS managed policy ARN)`,
      HINT,
    )
  }
  return p.arn
}

/** Makes a principal's inline policies and attachments exactly the configured ones. */
export async function syncPolicies(
  repo: IamRepo,
  accountId: string,
  type: PrincipalType,
  name: string,
  c: PrincipalPolicies,
  path: string,
  now: Date,
): Promise<void> {
  for (const [policyName, document] of c.policies) {
    await at(join(join(path, 'policies'), policyName), () =>
      checkPolicyDocument('policyDocument', document, 'inline'),
    )
  }
  await at(join(path, 'policies'), () =>
    checkInlineTotal(
      type,
      name,
      c.policies.map(([, d]) => d),
    ),
  )
  for (const existing of await repo.listInlinePolicies(accountId, type, name)) {
    if (!c.policies.some(([n]) => n.toLowerCase() === existing.policyName.toLowerCase())) {
      await repo.deleteInlinePolicy(accountId, type, name, existing.policyName)
    }
  }
  for (const [policyName, document] of c.policies)
    await repo.putInlinePolicy(accountId, type, name, policyName, document, now)
  const wanted: string[] = []
  for (const [j, ref] of c.managedPolicies.entries()) {
    wanted.push(
      await resolvePolicyArn(repo, accountId, ref, join(join(path, 'managedPolicies'), j)),
    )
  }
  if (new Set(wanted).size > 10)
    throw invalidAt(
      join(path, 'managedPolicies'),
      `LimitExceeded: Cannot exceed quota for PoliciesPer${type[0]!.toUpperCase()}${type.slice(1)}: 10`,
      HINT,
    )
  for (const a of await repo.listAttachedPolicies(accountId, type, name)) {
    if (!wanted.includes(a.policyArn)) await repo.detachPolicy(accountId, type, name, a.policyArn)
  }
  for (const arn of wanted) await repo.attachPolicy(accountId, type, name, arn, now)
}

export async function exportPrincipalPolicies(
  repo: IamRepo,
  accountId: string,
  type: PrincipalType,
  name: string,
) {
  const inline = await repo.listInlinePolicies(accountId, type, name)
  const attached = await repo.listAttachedPolicies(accountId, type, name)
  return {
    ...(inline.length === 0
      ? {}
      : {
          policies: Object.fromEntries(
            inline.map((p) => [p.policyName, exportDocument(p.document)]),
          ),
        }),
    ...(attached.length === 0 ? {} : { managedPolicies: attached.map((a) => a.policyArn) }),
  }
}

/**
 * A user's console login profile (IAM API reference, CreateLoginProfile): the password, or the stored scrypt hash
 * `podtrust export` writes; neither when the profile exists and only `passwordResetRequired` changes.
 */
export interface LoginProfileConfig {
  password?: string
  passwordHash?: string
  passwordResetRequired: boolean
}

function loginProfileOf(value: unknown, path: string): LoginProfileConfig {
  const o = object(value, path, { optional: ['password', 'passwordHash', 'passwordResetRequired'] })
  const password = optional(o['password'], (v) => string(v, join(path, 'password')))
  const passwordHash = optional(o['passwordHash'], (v) =>
    string(v, join(path, 'passwordHash'), { pattern: PASSWORD_HASH_PATTERN }),
  )
  if (password !== undefined && passwordHash !== undefined)
    throw invalidAt(path, 'give `password` or `passwordHash`, not both', HINT)
  return {
    ...(password === undefined ? {} : { password }),
    ...(passwordHash === undefined ? {} : { passwordHash }),
    passwordResetRequired:
      optional(o['passwordResetRequired'], (v) =>
        boolean(v, join(path, 'passwordResetRequired')),
      ) ?? false,
  }
}

/** Creates or updates the login profile; a password that already matches keeps its stored hash. */
async function syncLoginProfile(
  repo: IamRepo,
  accountId: string,
  userName: string,
  c: LoginProfileConfig,
  path: string,
  now: Date,
): Promise<void> {
  const existing = await repo.getLoginProfile(accountId, userName)
  let passwordHash = c.passwordHash ?? existing?.passwordHash
  if (c.password !== undefined) {
    const password = c.password
    await at(join(path, 'password'), () =>
      throwIfProblems(problemsOf('password', password, passwordRules)),
    )
    const same = existing !== undefined && (await passwordMatches(password, existing.passwordHash))
    passwordHash = same ? existing.passwordHash : await hashPassword(password)
  }
  if (passwordHash === undefined)
    throw invalidAt(
      path,
      `user \`${userName}\` has no login profile yet: give \`password\` (or \`passwordHash\`)`,
      HINT,
    )
  await repo.putLoginProfile({
    accountId,
    userName,
    passwordHash,
    passwordResetRequired: c.passwordResetRequired,
    createDate: existing?.createDate ?? now,
  })
}

/** The stored hash, never a password: enough for `apply` to recreate the same profile. */
async function exportLoginProfile(repo: IamRepo, accountId: string, userName: string) {
  const p = await repo.getLoginProfile(accountId, userName)
  if (p === undefined) return {}
  return {
    loginProfile: {
      passwordHash: p.passwordHash,
      ...(p.passwordResetRequired ? { passwordResetRequired: true } : {}),
    },
  }
}

export interface UserConfig extends PrincipalPolicies {
  name: string
  account?: string
  path: string
  tags: Tag[]
  accessKeys: { id: string; secret: string; status: 'Active' | 'Inactive' }[]
  /** `accessKeys` was given: the user's keys become exactly those (absent: keys are left alone). */
  manageKeys: boolean
  /** Absent: a login profile is left as it is. */
  loginProfile?: LoginProfileConfig
  path_: string
}

export const usersSection: ConfigSection<UserConfig[]> = {
  key: 'users',
  parse(value, path) {
    return list(value, path).map((item, i) => {
      const p = join(path, i)
      const o = object(item, p, {
        required: ['name'],
        optional: [
          'account',
          'path',
          'tags',
          'policies',
          'managedPolicies',
          'permissionsBoundary',
          'accessKeys',
          'loginProfile',
        ],
      })
      const loginProfile = optional(o['loginProfile'], (v) =>
        loginProfileOf(v, join(p, 'loginProfile')),
      )
      const accessKeys = (
        optional(o['accessKeys'], (v) => list(v, join(p, 'accessKeys'), { max: 2 })) ?? []
      ).map((k, j) => {
        const kp = join(join(p, 'accessKeys'), j)
        const ko = object(k, kp, { required: ['id', 'secret'], optional: ['status'] })
        return {
          id: string(ko['id'], join(kp, 'id'), { pattern: /^AKIA[A-Z2-7]{16}$/ }),
          secret: string(ko['secret'], join(kp, 'secret'), { min: 16, max: 128 }),
          status: (optional(ko['status'], (v) =>
            string(v, join(kp, 'status'), { oneOf: ['Active', 'Inactive'] }),
          ) ?? 'Active') as 'Active' | 'Inactive',
        }
      })
      return {
        ...principalIdentity(o, p, 64),
        tags: tagsOf(o['tags'], join(p, 'tags')),
        ...principalPolicies(o, p),
        accessKeys,
        manageKeys: o['accessKeys'] !== undefined && o['accessKeys'] !== null,
        ...(loginProfile === undefined ? {} : { loginProfile }),
        path_: p,
      }
    })
  },
  async apply(tx, value, env) {
    const repo = createIamRepo(tx)
    for (const c of value) {
      const accountId = await enterPrincipal(repo, c, env)
      await at(join(c.path_, 'tags'), () => checkTags(c.tags))
      const boundary =
        c.permissionsBoundary === undefined
          ? undefined
          : await resolvePolicyArn(
              repo,
              accountId,
              c.permissionsBoundary,
              join(c.path_, 'permissionsBoundary'),
            )
      let user = await repo.getUser(accountId, c.name)
      if (user === undefined) {
        user = newUser(accountId, c.name, c.path, env.now, random, {
          tags: c.tags,
          ...(boundary === undefined ? {} : { permissionsBoundaryArn: boundary }),
        })
        await repo.insertUser(user)
      } else {
        keepPath('user', user.path, c)
        const updated = { ...user, tags: c.tags }
        if (boundary === undefined) delete updated.permissionsBoundaryArn
        else updated.permissionsBoundaryArn = boundary
        await repo.updateUser(updated)
      }
      await syncPolicies(repo, accountId, 'user', user.userName, c, c.path_, env.now)
      if (user.userName.toLowerCase() === BOOTSTRAP_ADMIN_USER && accountId === env.accountId) {
        // The bootstrap administrator stays an administrator whatever the file lists.
        await repo.attachPolicy(accountId, 'user', user.userName, ADMINISTRATOR_ACCESS_ARN, env.now)
      }
      if (c.manageKeys) {
        // Keys from the file replace the others (e.g. the bootstrap admin's generated key on first start).
        for (const k of await repo.listAccessKeys(accountId, user.userName)) {
          if (!c.accessKeys.some((x) => x.id === k.accessKeyId))
            await repo.deleteAccessKey(k.accessKeyId)
        }
      }
      for (const [j, k] of c.accessKeys.entries()) {
        const existing = await repo.getAccessKey(k.id)
        if (existing === undefined) {
          await repo.insertAccessKey({
            accessKeyId: k.id,
            secretAccessKey: k.secret,
            status: k.status,
            accountId,
            userName: user.userName,
            createDate: env.now,
          })
        } else if (
          existing.accountId !== accountId ||
          existing.userName.toLowerCase() !== user.userName.toLowerCase() ||
          existing.secretAccessKey !== k.secret
        ) {
          throw invalidAt(
            join(join(c.path_, 'accessKeys'), j),
            `access key \`${k.id}\` belongs to another user or has another secret`,
            HINT,
          )
        } else if (existing.status !== k.status) {
          await repo.updateAccessKeyStatus(k.id, k.status)
        }
      }
      if (c.loginProfile !== undefined)
        await syncLoginProfile(
          repo,
          accountId,
          user.userName,
          c.loginProfile,
          join(c.path_, 'loginProfile'),
          env.now,
        )
    }
  },
  async export(db, env) {
    const repo = createIamRepo(db)
    const out = []
    for (const a of await repo.listAccounts()) {
      for (const u of await repo.listUsers(a.accountId)) {
        out.push({
          name: u.userName,
          ...withAccount(a.accountId, env),
          ...(u.path === '/' ? {} : { path: u.path }),
          ...(u.tags.length === 0 ? {} : { tags: tagsMap(u.tags) }),
          ...(await exportPrincipalPolicies(repo, a.accountId, 'user', u.userName)),
          ...(u.permissionsBoundaryArn === undefined
            ? {}
            : { permissionsBoundary: u.permissionsBoundaryArn }),
          ...(await exportLoginProfile(repo, a.accountId, u.userName)),
        })
      }
    }
    return exported<UserConfig>(out)
  },
}

export interface RoleConfig extends PrincipalPolicies {
  name: string
  account?: string
  path: string
  description?: string
  maxSessionDuration: number
  assumeRolePolicy: string
  tags: Tag[]
  path_: string
}

export const rolesSection: ConfigSection<RoleConfig[]> = {
  key: 'roles',
  parse(value, path) {
    return list(value, path).map((item, i) => {
      const p = join(path, i)
      const o = object(item, p, {
        required: ['name', 'assumeRolePolicy'],
        optional: [
          'account',
          'path',
          'description',
          'maxSessionDuration',
          'tags',
          'policies',
          'managedPolicies',
          'permissionsBoundary',
        ],
      })
      const description = optional(o['description'], (v) =>
        string(v, join(p, 'description'), { max: 1000 }),
      )
      return {
        ...principalIdentity(o, p, 64),
        ...(description === undefined ? {} : { description }),
        maxSessionDuration:
          optional(o['maxSessionDuration'], (v) =>
            integer(v, join(p, 'maxSessionDuration'), { min: 3600, max: 43200 }),
          ) ?? 3600,
        assumeRolePolicy: documentOf(o['assumeRolePolicy'], join(p, 'assumeRolePolicy')),
        tags: tagsOf(o['tags'], join(p, 'tags')),
        ...principalPolicies(o, p),
        path_: p,
      }
    })
  },
  async apply(tx, value, env) {
    const repo = createIamRepo(tx)
    for (const c of value) {
      const accountId = await enterPrincipal(repo, c, env)
      await at(join(c.path_, 'tags'), () => checkTags(c.tags))
      await at(join(c.path_, 'assumeRolePolicy'), () => {
        checkPolicyDocument('assumeRolePolicyDocument', c.assumeRolePolicy, 'trust')
        checkTrustPolicySize(c.assumeRolePolicy)
      })
      const boundary =
        c.permissionsBoundary === undefined
          ? undefined
          : await resolvePolicyArn(
              repo,
              accountId,
              c.permissionsBoundary,
              join(c.path_, 'permissionsBoundary'),
            )
      const existing = await repo.getRole(accountId, c.name)
      if (existing !== undefined) keepPath('role', existing.path, c)
      const role = {
        accountId,
        roleName: existing?.roleName ?? c.name,
        roleId: existing?.roleId ?? newUniqueId(ID_PREFIX.role, accountId, random),
        arn: existing?.arn ?? roleArn(accountId, c.path, c.name),
        path: c.path,
        assumeRolePolicyDocument: c.assumeRolePolicy,
        maxSessionDuration: c.maxSessionDuration,
        ...(boundary === undefined ? {} : { permissionsBoundaryArn: boundary }),
        ...(c.description === undefined ? {} : { description: c.description }),
        createDate: existing?.createDate ?? env.now,
        tags: c.tags,
      }
      if (existing === undefined) await repo.insertRole(role)
      else await repo.updateRole(role)
      await syncPolicies(repo, accountId, 'role', role.roleName, c, c.path_, env.now)
    }
    // AWS principals are checked once every role of the file exists (roles may trust each other).
    for (const c of value)
      await at(join(c.path_, 'assumeRolePolicy'), () =>
        checkTrustPrincipals(repo, c.assumeRolePolicy),
      )
  },
  async export(db, env) {
    const repo = createIamRepo(db)
    const out = []
    for (const a of await repo.listAccounts()) {
      for (const r of await repo.listRoles(a.accountId)) {
        out.push({
          name: r.roleName,
          ...withAccount(a.accountId, env),
          ...(r.path === '/' ? {} : { path: r.path }),
          ...(r.description === undefined ? {} : { description: r.description }),
          ...(r.maxSessionDuration === 3600 ? {} : { maxSessionDuration: r.maxSessionDuration }),
          assumeRolePolicy: exportDocument(r.assumeRolePolicyDocument),
          ...(await exportPrincipalPolicies(repo, a.accountId, 'role', r.roleName)),
          ...(r.permissionsBoundaryArn === undefined
            ? {}
            : { permissionsBoundary: r.permissionsBoundaryArn }),
          ...(r.tags.length === 0 ? {} : { tags: tagsMap(r.tags) }),
        })
      }
    }
    return exported<RoleConfig>(out)
  },
}
