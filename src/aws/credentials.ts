/**
 * @module aws/credentials
 * Long-term AWS credentials from the standard environment, as the SDKs read them: the variables
 * (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), then the shared credentials file.
 * https://docs.aws.amazon.com/sdkref/latest/guide/file-format.html
 * Used by podtrust's own signed clients (the agent's `--server` mode, the webhook's EKS client).
 */
import { readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import type { AwsCredentials } from './sigv4/sign.ts'

/**
 * Credentials from the standard AWS environment: the variables first, then the shared credentials file
 * (`AWS_SHARED_CREDENTIALS_FILE` or `~/.aws/credentials`, profile `AWS_PROFILE` or `default`).
 */
export function standardCredentials(env: NodeJS.ProcessEnv): AwsCredentials | undefined {
  const fromEnv = environmentCredentials(env)
  if (fromEnv !== undefined) return fromEnv
  const home = env['HOME'] ?? homedir()
  const file = env['AWS_SHARED_CREDENTIALS_FILE'] ?? join(home, '.aws', 'credentials')
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch {
    return undefined
  }
  return profileCredentials(text, env['AWS_PROFILE'] ?? 'default')
}

/** One profile of an AWS shared credentials file (INI); undefined when missing or incomplete. */
export function profileCredentials(text: string, profile: string): AwsCredentials | undefined {
  let current: string | undefined
  const values: Record<string, string> = {}
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue
    const section = /^\[\s*([^\]]+?)\s*\]$/.exec(line)
    if (section !== null) {
      current = section[1]
      continue
    }
    const eq = line.indexOf('=')
    if (current !== profile || eq < 0) continue
    values[line.slice(0, eq).trim().toLowerCase()] = line.slice(eq + 1).trim()
  }
  return environmentCredentials({
    AWS_ACCESS_KEY_ID: values['aws_access_key_id'],
    AWS_SECRET_ACCESS_KEY: values['aws_secret_access_key'],
    AWS_SESSION_TOKEN: values['aws_session_token'],
  })
}

/** Credentials from the standard AWS environment variables (a node role's or an agent access key). */
export function environmentCredentials(env: NodeJS.ProcessEnv): AwsCredentials | undefined {
  const accessKeyId = env['AWS_ACCESS_KEY_ID']
  const secretAccessKey = env['AWS_SECRET_ACCESS_KEY']
  if (
    accessKeyId === undefined ||
    accessKeyId === '' ||
    secretAccessKey === undefined ||
    secretAccessKey === ''
  ) {
    return undefined
  }
  const sessionToken = env['AWS_SESSION_TOKEN']
  return sessionToken === undefined || sessionToken === ''
    ? { accessKeyId, secretAccessKey }
    : { accessKeyId, secretAccessKey, sessionToken }
}
