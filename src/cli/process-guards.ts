/**
 * @module cli/process-guards
 * Process-wide behaviour of the `podtrust` binary (installed once, when the CLI runs against the real
 * process streams):
 * - a closed stdout (`podtrust audit tail | head`) ends the command quietly instead of crashing with EPIPE;
 * - a crash (an uncaught exception or unhandled rejection) writes exactly one JSON line to stderr — time,
 *   level `fatal`, event `process.crash`, the error's name, code and message, no stack (messages are
 *   secret-free by rule) — and exits with status 70 (EX_SOFTWARE).
 */
import { redactString } from '../audit/redact.ts'

let installed = false

export function guardProcess(): void {
  if (installed) return
  installed = true
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE')
      process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0)
    crash(err)
  })
  process.on('uncaughtException', crash)
  process.on('unhandledRejection', crash)
}

function crash(err: unknown): void {
  const e = err instanceof Error ? err : new Error(String(err))
  const code = (e as { code?: unknown }).code
  const line = {
    time: new Date().toISOString(),
    level: 'fatal',
    event: 'process.crash',
    error: {
      name: e.name,
      message: redactString(e.message),
      ...(code === undefined ? {} : { code }),
    },
  }
  try {
    process.stderr.write(`${JSON.stringify(line)}\n`)
  } finally {
    process.exit(70)
  }
}
