import type { Writable } from 'node:stream'

/** What a command may touch: its streams and environment are injected so tests run commands in-process. */
export interface CliIo {
  stdout: Writable
  stderr: Writable
  env: NodeJS.ProcessEnv
  cwd: string
}

/**
 * One top-level CLI command (`podtrust <name> …`). A command with subcommands (`policy validate`) parses
 * its own argv. `run` resolves to the process exit code; it throws `UsageError` for bad arguments.
 */
export interface Command {
  name: string
  summary: string
  usage: string
  run(argv: string[], io: CliIo): Promise<number>
}
