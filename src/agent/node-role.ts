/**
 * @module agent/node-role
 * The node role for `podtrust agent --imds-port`: STS AssumeRole at the podtrust server, signed with the
 * agent's own credentials (its environment), RoleSessionName the instance id — what EC2 does for an
 * instance profile. The role's trust policy names the agent's principal (for EC2 it names
 * `ec2.amazonaws.com`, which `podtrust up --imds-port` uses in-process).
 */
import { type AwsCredentials, signRequest } from '../aws/sigv4/sign.ts'
import type { NodeRoleSource } from './imds.ts'

export interface RemoteNodeRoleOptions {
  serverUrl: string
  roleArn: string
  sessionName: string
  region: string
  credentials: () => AwsCredentials
  durationSeconds?: number
  now?: () => Date
  timeoutMs?: number
}

function tag(xml: string, name: string): string | undefined {
  return new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1]
}

export function remoteNodeRoleSource(options: RemoteNodeRoleOptions): NodeRoleSource {
  const url = `${options.serverUrl.replace(/\/+$/, '')}/`
  return async () => {
    const body = new URLSearchParams({
      Action: 'AssumeRole',
      Version: '2011-06-15',
      RoleArn: options.roleArn,
      RoleSessionName: options.sessionName,
      DurationSeconds: String(options.durationSeconds ?? 3600),
    }).toString()
    const headers = signRequest({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
      body,
      service: 'sts',
      region: options.region,
      credentials: options.credentials(),
      now: (options.now ?? (() => new Date()))(),
    })
    delete headers['host']
    const res = await fetch(url, {
      method: 'POST',
      headers,
      body,
      signal: AbortSignal.timeout(options.timeoutMs ?? 5000),
    })
    const xml = await res.text()
    if (res.status !== 200) {
      throw new Error(
        `STS AssumeRole answered ${res.status} ${tag(xml, 'Code') ?? ''}: ${tag(xml, 'Message') ?? ''}`,
      )
    }
    const accessKeyId = tag(xml, 'AccessKeyId')
    const secretAccessKey = tag(xml, 'SecretAccessKey')
    const sessionToken = tag(xml, 'SessionToken')
    const expiration = tag(xml, 'Expiration')
    if (
      accessKeyId === undefined ||
      secretAccessKey === undefined ||
      sessionToken === undefined ||
      expiration === undefined
    ) {
      throw new Error('STS AssumeRole returned an incomplete response')
    }
    return { accessKeyId, secretAccessKey, sessionToken, expiration: new Date(expiration) }
  }
}
