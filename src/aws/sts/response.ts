/**
 * @module aws/sts/response
 * The response step of the assume-role pipeline as STS renders it: `AssumedRoleUser` and `Credentials`
 * (STS API reference, AssumeRole response elements:
 * https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html#API_AssumeRole_ResponseElements).
 */
import type { RoleSessionResult } from '../../identity/sessions.ts'

export function assumedRoleResponse(
  created: Pick<RoleSessionResult, 'assumedRoleUser' | 'credentials'>,
) {
  return {
    AssumedRoleUser: {
      Arn: created.assumedRoleUser.arn,
      AssumedRoleId: created.assumedRoleUser.assumedRoleId,
    },
    Credentials: credentialsResponse(created.credentials),
  }
}

export function credentialsResponse(c: RoleSessionResult['credentials']) {
  return {
    AccessKeyId: c.accessKeyId,
    SecretAccessKey: c.secretAccessKey,
    SessionToken: c.sessionToken,
    Expiration: c.expiration,
  }
}

/** `PackedPolicySize` appears only when something was packed. */
export const packedPolicySizeOf = (percent: number): number | undefined =>
  percent > 0 ? percent : undefined
