import { readFileSync } from 'node:fs'
import { PodtrustError, UsageError } from '../errors.ts'
import type { CliIo } from './command.ts'
import { commandTable } from './commands/index.ts'

// Kept light on purpose: `--version` and `--help` import only this file, errors.ts and the command table;
// each command's module loads when that command runs (bench:cli measures it against bare node).

function help(): string {
  const width = Math.max(...commandTable.map((c) => c.name.length), 4)
  const lines = commandTable.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`)
  return [
    'podtrust — workload identity for Kubernetes pods',
    '',
    'Usage: podtrust <command> [options]',
    '',
    'Commands:',
    ...lines,
    '',
    "Run 'podtrust <command> --help' for a command's options.",
    '',
  ].join('\n')
}

/** Runs the CLI and resolves to the exit code: 0 success, 1 a negative result (denied, invalid), 2 usage. */
export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  const [name, ...rest] = argv
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(help())
    return name === undefined ? 2 : 0
  }
  if (name === '--version') {
    // src/cli/ and dist/cli/ are both two levels below the package root.
    const pkg = JSON.parse(
      readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
    ) as {
      version: string
    }
    io.stdout.write(`${pkg.version}\n`)
    return 0
  }
  const entry = commandTable.find((c) => c.name === name)
  if (entry === undefined) {
    io.stderr.write(`podtrust: unknown command '${name}'\n\n${help()}`)
    return 2
  }
  const command = await entry.load()
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout.write(`${command.usage.trimEnd()}\n`)
    return 0
  }
  // The real process streams: a closed stdout ends quietly, a crash logs one JSON line (process-guards.ts).
  if (io.stdout === process.stdout) (await import('./process-guards.ts')).guardProcess()
  try {
    return await command.run(rest, io)
  } catch (err) {
    return reportError(err, command.usage, io)
  }
}

function reportError(err: unknown, usage: string, io: CliIo): number {
  if (err instanceof UsageError) {
    io.stderr.write(`podtrust: ${err.message}\n`)
    if (err.hint !== undefined) io.stderr.write(`  hint: ${err.hint}\n`)
    io.stderr.write(`\n${usage.trimEnd()}\n`)
    return 2
  }
  if (err instanceof PodtrustError) {
    io.stderr.write(`podtrust: ${err.message} [${err.code}]\n`)
    if (err.hint !== undefined) io.stderr.write(`  hint: ${err.hint}\n`)
    return 1
  }
  if (err instanceof TypeError && err.message.includes('parseArgs')) {
    io.stderr.write(`podtrust: ${err.message}\n\n${usage.trimEnd()}\n`)
    return 2
  }
  const message = err instanceof Error ? err.message : String(err)
  // parseArgs throws TypeErrors with codes such as ERR_PARSE_ARGS_UNKNOWN_OPTION: a usage problem.
  if (err instanceof Error && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS')) {
    io.stderr.write(`podtrust: ${message}\n\n${usage.trimEnd()}\n`)
    return 2
  }
  io.stderr.write(`podtrust: unexpected error: ${message}\n`)
  return 1
}

export function processIo(): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() }
}
