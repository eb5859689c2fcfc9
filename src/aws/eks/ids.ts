/**
 * @module aws/eks/ids
 * Identifiers EKS mints: association ids (`a-` + 17 lower-case base36, as real CLI output shows, e.g.
 * `a-j3gyfla9wahgsrs6y`), association and cluster ARNs, and the external id of a target-role association.
 */

const BASE36 = '0123456789abcdefghijklmnopqrstuvwxyz'

/** `a-` + 17 base36 characters drawn from the injected randomness (rejection sampling: no modulo bias). */
export function newAssociationId(randomBytes: (size: number) => Uint8Array): string {
  let out = 'a-'
  while (out.length < 19) {
    for (const byte of randomBytes(32)) {
      // 252 = 7 * 36: bytes at or above it would bias the low digits.
      if (byte >= 252) continue
      out += BASE36[byte % 36]
      if (out.length === 19) break
    }
  }
  return out
}

export const ASSOCIATION_ID_PATTERN = /^a-[0-9a-z]{17}$/

/** RFC 4122 version-4 UUID from the injected randomness. */
export function uuidV4(randomBytes: (size: number) => Uint8Array): string {
  const b = Uint8Array.from(randomBytes(16))
  b[6] = ((b[6] ?? 0) & 0x0f) | 0x40
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

export function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn'
  if (region.startsWith('us-gov-')) return 'aws-us-gov'
  return 'aws'
}

export function clusterArn(region: string, accountId: string, name: string): string {
  return `arn:${partitionOf(region)}:eks:${region}:${accountId}:cluster/${name}`
}

export function associationArn(
  region: string,
  accountId: string,
  clusterName: string,
  associationId: string,
): string {
  return `arn:${partitionOf(region)}:eks:${region}:${accountId}:podidentityassociation/${clusterName}/${associationId}`
}

/** `arn:P:iam::ACCT:role/PATH/NAME` → its parts, or undefined when it is not a role ARN. */
export function parseRoleArn(
  arn: string,
): { partition: string; accountId: string; roleName: string } | undefined {
  const m =
    /^arn:(aws|aws-cn|aws-us-gov):iam::(\d{12}):role\/(?:[\u0021-\u007e]*\/)?([\w+=,.@-]{1,64})$/.exec(
      arn,
    )
  if (m === null) return undefined
  return { partition: m[1] ?? 'aws', accountId: m[2] ?? '', roleName: m[3] ?? '' }
}
