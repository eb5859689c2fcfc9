/**
 * @module config/demo
 * The `--demo` seed: a bundled YAML config applied through the registered sections like any other file.
 */
import { readFileSync } from 'node:fs'

export const DEMO_CONFIG_URL = new URL('./demo.yaml', import.meta.url)

export function demoConfigText(): string {
  return readFileSync(DEMO_CONFIG_URL, 'utf8')
}
