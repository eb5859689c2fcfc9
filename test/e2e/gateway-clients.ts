/**
 * Real-client drivers for the gateway e2e tests: boto3 (one python process runs a list of calls and prints one
 * JSON result per call) and helpers for AWS credentials from IRSA (AssumeRoleWithWebIdentity) and Pod Identity.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { cleanEnv, queryPost, run, tempDir, xmlText } from './helpers/index.ts'

export interface Creds {
  accessKeyId: string
  secretAccessKey: string
  sessionToken?: string
}

/** The calls boto3 makes: [service, method, kwargs]; results carry the error code/message AWS clients see. */
const BOTO_SCRIPT = `
import json, sys, boto3, botocore
from botocore.config import Config
calls = json.load(sys.stdin)
out = []
for service, method, kwargs in calls:
    client = boto3.client(service, config=Config(signature_version='s3v4', s3={'addressing_style': 'path'}, retries={'max_attempts': 1}))
    try:
        if method == 'generate_presigned_url':
            out.append({'ok': True, 'data': client.generate_presigned_url(**kwargs)})
            continue
        if method == 'upload_file':
            client.upload_file(**kwargs)
            out.append({'ok': True})
            continue
        r = getattr(client, method)(**kwargs)
        body = r.get('Body')
        if body is not None:
            r['Body'] = body.read().decode('utf-8', 'replace')
        r.pop('ResponseMetadata', None)
        out.append({'ok': True, 'data': json.loads(json.dumps(r, default=str))})
    except botocore.exceptions.ClientError as e:
        err = e.response.get('Error', {})
        out.append({'ok': False, 'code': err.get('Code'), 'message': err.get('Message'), 'status': e.response.get('ResponseMetadata', {}).get('HTTPStatusCode')})
print(json.dumps(out))
`

export interface BotoResult {
  ok: boolean
  data?: unknown
  code?: string
  message?: string
  status?: number
}

export function clientEnv(
  creds: Creds,
  gatewayUrl: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return cleanEnv(tempDir('podtrust-gw-home-'), {
    AWS_ACCESS_KEY_ID: creds.accessKeyId,
    AWS_SECRET_ACCESS_KEY: creds.secretAccessKey,
    ...(creds.sessionToken === undefined ? {} : { AWS_SESSION_TOKEN: creds.sessionToken }),
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_REGION: 'us-east-1',
    AWS_ENDPOINT_URL_S3: gatewayUrl,
    AWS_ENDPOINT_URL_SQS: gatewayUrl,
    ...extra,
  })
}

export async function boto(
  env: Record<string, string>,
  calls: [string, string, Record<string, unknown>][],
): Promise<BotoResult[]> {
  const r = await run('python3', ['-c', BOTO_SCRIPT], {
    env,
    input: JSON.stringify(calls),
    timeoutMs: 180_000,
  })
  if (r.code !== 0) throw new Error(`boto3 failed: ${r.stderr}`)
  return JSON.parse(r.stdout) as BotoResult[]
}

/** IRSA: AssumeRoleWithWebIdentity with a service-account token, as the SDKs do it. */
export async function irsaCredentials(
  stsUrl: string,
  roleArn: string,
  token: string,
  extra: Record<string, string> = {},
): Promise<Creds> {
  const res = await queryPost(stsUrl, {
    Action: 'AssumeRoleWithWebIdentity',
    Version: '2011-06-15',
    RoleArn: roleArn,
    RoleSessionName: 'gw-e2e',
    WebIdentityToken: token,
    ...extra,
  })
  if (res.status !== 200) throw new Error(`AssumeRoleWithWebIdentity: ${res.status} ${res.body}`)
  return {
    accessKeyId: xmlText(res.body, 'AccessKeyId') as string,
    secretAccessKey: xmlText(res.body, 'SecretAccessKey') as string,
    sessionToken: xmlText(res.body, 'SessionToken') as string,
  }
}

export function writeTemp(name: string, content: string | Buffer): string {
  const file = join(tempDir('podtrust-gw-files-'), name)
  writeFileSync(file, content)
  return file
}
