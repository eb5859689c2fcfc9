/**
 * @module config/demo
 * The `--demo` seed: a bundled YAML config applied through the registered sections like any other file.
 * The OIDC provider and trust policy name the default issuer, whose URL is only known at start.
 */
import { readFileSync } from 'node:fs'

export const DEMO_CONFIG_URL = new URL('./demo.yaml', import.meta.url)

export interface DemoValues {
  /** The default issuer's URL, `https://host[:port][/path]`. */
  issuerUrl: string
  accountId: string
}

/** The demo config with the issuer (as IAM names providers: host and path, no scheme) and account filled in. */
export function demoConfigText(values: DemoValues): string {
  const hostPath = values.issuerUrl.replace(/^https:\/\//, '').replace(/\/$/, '')
  return readFileSync(DEMO_CONFIG_URL, 'utf8')
    .replaceAll('ISSUER_HOST_PATH', hostPath)
    .replaceAll('ACCOUNT_ID', values.accountId)
}
