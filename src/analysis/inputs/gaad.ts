/**
 * @module analysis/inputs/gaad
 * Reads `aws iam get-account-authorization-details` output (pure: JSON text in). Policy documents arrive as
 * objects (AWS CLI, boto3), plain JSON strings, or still URL-encoded strings (AWS SDK for JavaScript v3, Go v2):
 * the IAM API returns them "URL-encoded compliant with RFC 3986"
 * (https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccountAuthorizationDetails.html), so a string is
 * decoded with `decodeURIComponent` (`+` stays `+`). Only each managed policy's default version is evaluated, as
 * IAM does. Timestamps in the forms the CLI, CLI v2 and boto3 `str()` print are accepted.
 */
import { compilePolicy, type PolicyType } from '../../policy/index.ts'
import { PodtrustError } from '../../errors.ts'
import type {
  IamGroup,
  IamInventory,
  IamRole,
  IamUser,
  ManagedPolicy,
  PolicyDocumentRef,
} from '../model.ts'

export type ScanInputErrorCode = 'SCAN_INPUT_INVALID'

/** A scan input that cannot be read at all (the file is not the format its flag names). */
export class ScanInputError extends PodtrustError<ScanInputErrorCode> {
  constructor(message: string, hint?: string) {
    super('SCAN_INPUT_INVALID', message, hint === undefined ? {} : { hint })
  }
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : [])
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined)

/** `2019-08-16 17:27:59+00:00`, `…T…Z`, `….130630Z`, `…+00:00`; epoch seconds. Undefined when unreadable. */
export function parseTimestamp(value: unknown): Date | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return new Date(value * 1000)
  if (typeof value !== 'string' || value === '') return undefined
  let s = value.trim().replace(' ', 'T')
  // Fractions beyond milliseconds (CLI with a moto backend prints microseconds).
  s = s.replace(/(\.\d{3})\d+/, '$1')
  const ms = Date.parse(s)
  return Number.isNaN(ms) ? undefined : new Date(ms)
}

/** Decodes one policyDocumentType value: object, JSON text, or URL-encoded JSON. Throws with the JSON path. */
export function decodePolicyDocument(value: unknown, path: string): Record<string, unknown> {
  if (isObject(value)) return value
  if (typeof value === 'string') {
    const text = value.trimStart().startsWith('{') ? value : safeDecode(value, path)
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch {
      throw new ScanInputError(`${path}: policy document is not JSON (nor URL-encoded JSON)`)
    }
    if (isObject(parsed)) return parsed
  }
  throw new ScanInputError(
    `${path}: policy document must be an object or a (URL-encoded) JSON string`,
  )
}

function safeDecode(value: string, path: string): string {
  try {
    return decodeURIComponent(value)
  } catch {
    throw new ScanInputError(`${path}: policy document is not valid URL encoding`)
  }
}

function documentRef(
  name: string,
  id: string,
  value: unknown,
  path: string,
  type: PolicyType,
  warnings: string[],
): PolicyDocumentRef {
  let document: Record<string, unknown>
  try {
    document = decodePolicyDocument(value, path)
  } catch (err) {
    warnings.push((err as Error).message)
    return { name, id, document: {}, compiled: undefined, size: 0, error: (err as Error).message }
  }
  const ref: PolicyDocumentRef = {
    name,
    id,
    document,
    compiled: undefined,
    size: JSON.stringify(document).length,
  }
  try {
    ref.compiled = compilePolicy(document, { id, type })
  } catch (err) {
    ref.error = `${path}: ${(err as Error).message}`
    warnings.push(ref.error)
  }
  return ref
}

function arnParts(arn: string): { partition: string; account: string } {
  const parts = arn.split(':')
  return { partition: parts[1] ?? 'aws', account: parts[4] ?? '' }
}

function attachedArns(v: unknown): string[] {
  return list(v)
    .filter(isObject)
    .map((a) => str(a.PolicyArn) ?? '')
    .filter((a) => a !== '')
}

function inlinePolicies(
  v: unknown,
  entity: string,
  path: string,
  type: PolicyType,
  warnings: string[],
): PolicyDocumentRef[] {
  return list(v)
    .filter(isObject)
    .map((p, i) => {
      const name = str(p.PolicyName) ?? `#${i}`
      return documentRef(
        name,
        `inline:${entity}/${name}`,
        p.PolicyDocument,
        `${path}[${i}].PolicyDocument`,
        type,
        warnings,
      )
    })
}

function tags(v: unknown): Record<string, string> {
  const out: Record<string, string> = {}
  for (const t of list(v).filter(isObject)) {
    const k = str(t.Key)
    if (k !== undefined) out[k] = str(t.Value) ?? ''
  }
  return out
}

/** Parses GAAD JSON text (also accepts an already-parsed value). Throws ScanInputError on a wrong shape. */
export function parseGaad(input: string | unknown, source = 'gaad'): IamInventory {
  let json: unknown = input
  if (typeof input === 'string') {
    try {
      json = JSON.parse(input)
    } catch (err) {
      throw new ScanInputError(
        `${source}: not JSON (${(err as Error).message})`,
        'give the output of `aws iam get-account-authorization-details --output json`',
      )
    }
  }
  if (
    !isObject(json) ||
    !['RoleDetailList', 'UserDetailList', 'GroupDetailList', 'Policies'].some((k) => k in json)
  ) {
    throw new ScanInputError(
      `${source}: not get-account-authorization-details output (no RoleDetailList, UserDetailList, GroupDetailList or Policies)`,
      'give the output of `aws iam get-account-authorization-details --output json`',
    )
  }
  const warnings: string[] = []
  const inv: IamInventory = {
    roles: new Map(),
    users: new Map(),
    groups: new Map(),
    policies: new Map(),
    accounts: new Set(),
    warnings,
  }
  list(json.Policies).forEach((p, i) => {
    if (!isObject(p)) return
    const arn = str(p.Arn)
    if (arn === undefined) return
    const name = str(p.PolicyName) ?? arn.slice(arn.lastIndexOf('/') + 1)
    const defaultId = str(p.DefaultVersionId)
    const versions = list(p.PolicyVersionList).filter(isObject)
    const chosen =
      versions.find((v) => v.IsDefaultVersion === true) ??
      versions.find((v) => defaultId !== undefined && v.VersionId === defaultId)
    const policy: ManagedPolicy = {
      arn,
      name,
      defaultVersion:
        chosen === undefined
          ? undefined
          : documentRef(
              name,
              arn,
              chosen.Document,
              `Policies[${i}].PolicyVersionList.Document`,
              'managed',
              warnings,
            ),
    }
    inv.policies.set(arn, policy)
    const { account } = arnParts(arn)
    if (/^\d{12}$/.test(account)) inv.accounts.add(account)
  })
  list(json.RoleDetailList).forEach((r, i) => {
    if (!isObject(r)) return
    const arn = str(r.Arn)
    if (arn === undefined) return
    const { partition, account } = arnParts(arn)
    const name = str(r.RoleName) ?? arn.slice(arn.lastIndexOf('/') + 1)
    const lastUsed = isObject(r.RoleLastUsed) ? r.RoleLastUsed : undefined
    const role: IamRole = {
      arn,
      name,
      accountId: account,
      partition,
      path: str(r.Path) ?? '/',
      trust: documentRef(
        `${name} trust`,
        `trust:${arn}`,
        r.AssumeRolePolicyDocument,
        `RoleDetailList[${i}].AssumeRolePolicyDocument`,
        'trust',
        warnings,
      ),
      inline: inlinePolicies(
        r.RolePolicyList,
        `role/${name}`,
        `RoleDetailList[${i}].RolePolicyList`,
        'inline',
        warnings,
      ),
      attached: attachedArns(r.AttachedManagedPolicies),
      instanceProfiles: list(r.InstanceProfileList)
        .filter(isObject)
        .map((p) => str(p.Arn) ?? '')
        .filter((a) => a !== ''),
      lastUsedKnown: lastUsed !== undefined,
      tags: tags(r.Tags),
    }
    const created = parseTimestamp(r.CreateDate)
    if (created !== undefined) role.createDate = created
    const used = parseTimestamp(lastUsed?.LastUsedDate)
    if (used !== undefined) role.lastUsed = used
    const boundary = isObject(r.PermissionsBoundary)
      ? str(r.PermissionsBoundary.PermissionsBoundaryArn)
      : undefined
    if (boundary !== undefined) role.boundaryArn = boundary
    inv.roles.set(arn, role)
    if (/^\d{12}$/.test(account)) inv.accounts.add(account)
  })
  list(json.UserDetailList).forEach((u, i) => {
    if (!isObject(u)) return
    const arn = str(u.Arn)
    if (arn === undefined) return
    const name = str(u.UserName) ?? arn.slice(arn.lastIndexOf('/') + 1)
    const user: IamUser = {
      arn,
      name,
      accountId: arnParts(arn).account,
      inline: inlinePolicies(
        u.UserPolicyList,
        `user/${name}`,
        `UserDetailList[${i}].UserPolicyList`,
        'inline',
        warnings,
      ),
      attached: attachedArns(u.AttachedManagedPolicies),
      groups: list(u.GroupList)
        .map((g) => str(g) ?? '')
        .filter((g) => g !== ''),
    }
    const boundary = isObject(u.PermissionsBoundary)
      ? str(u.PermissionsBoundary.PermissionsBoundaryArn)
      : undefined
    if (boundary !== undefined) user.boundaryArn = boundary
    inv.users.set(arn, user)
  })
  list(json.GroupDetailList).forEach((g, i) => {
    if (!isObject(g)) return
    const arn = str(g.Arn)
    if (arn === undefined) return
    const name = str(g.GroupName) ?? arn.slice(arn.lastIndexOf('/') + 1)
    const group: IamGroup = {
      arn,
      name,
      inline: inlinePolicies(
        g.GroupPolicyList,
        `group/${name}`,
        `GroupDetailList[${i}].GroupPolicyList`,
        'inline',
        warnings,
      ),
      attached: attachedArns(g.AttachedManagedPolicies),
    }
    inv.groups.set(name, group)
  })
  return inv
}

export function emptyIamInventory(): IamInventory {
  return {
    roles: new Map(),
    users: new Map(),
    groups: new Map(),
    policies: new Map(),
    accounts: new Set(),
    warnings: [],
  }
}
