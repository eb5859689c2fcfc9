import type { Command } from '../command.ts'

/**
 * Every top-level command, in the order `podtrust --help` lists them. Each command lives in its own module
 * under this folder; adding one is one import and one entry here.
 */
export const commands: Command[] = []
