/**
 * @module cli/commands/generate
 * `podtrust generate terraform|cloudformation|manifests --spec FILE [--out DIR]`: infrastructure as code
 * from one workload spec (docs/iac.md).
 */
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { ConfigError, inConfigFile } from '../../config/errors.ts'
import { UsageError } from '../../errors.ts'
import { GENERATE_TARGETS, generate, type GenerateTarget } from '../../generate/index.ts'
import { parseSpec } from '../../generate/spec.ts'
import { writeGeneratedFiles } from '../../generate/write.ts'
import type { Command } from '../command.ts'

const usage = `Usage:
  podtrust generate terraform|cloudformation|manifests --spec FILE [--out DIR]

Writes infrastructure as code for the workloads of a spec (docs/iac.md):
  terraform       main.tf (aws, azurerm, google) + podtrust.yaml (the same state for a local podtrust)
  cloudformation  template.json (AWS resources) + podtrust.yaml
  manifests       ServiceAccounts (serviceaccounts.yaml, kustomization.yaml) and a kustomize Component
                  (component/) that also points each workload's pod template at its ServiceAccount

Options:
  --spec FILE   the workload spec ('-' reads stdin)
  --out DIR     write the files under DIR (created when missing); without it, print them to stdout
`

export const generateCommand: Command = {
  name: 'generate',
  summary: 'Generate Terraform, CloudFormation or Kubernetes manifests from a workload spec',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: { spec: { type: 'string' }, out: { type: 'string' } },
    })
    const [target, ...extra] = positionals
    if (target === undefined)
      throw new UsageError('missing target', `one of ${GENERATE_TARGETS.join(', ')}`)
    if (!(GENERATE_TARGETS as readonly string[]).includes(target)) {
      throw new UsageError(`unknown target '${target}'`, `one of ${GENERATE_TARGETS.join(', ')}`)
    }
    if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0]}'`)
    const file = values.spec
    if (file === undefined)
      throw new UsageError('missing --spec FILE', 'see docs/iac.md for the spec format')
    let text: string
    try {
      text = file === '-' ? readFileSync(0, 'utf8') : readFileSync(resolve(io.cwd, file), 'utf8')
    } catch (err) {
      throw new UsageError(
        `cannot read '${file}': ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
      )
    }
    let files
    try {
      files = generate(target as GenerateTarget, parseSpec(text))
    } catch (err) {
      throw err instanceof ConfigError ? inConfigFile(err, file) : err
    }
    if (values.out === undefined) {
      for (const f of files) io.stdout.write(`# ---- ${f.path}\n${f.content}`)
    } else {
      for (const path of writeGeneratedFiles(resolve(io.cwd, values.out), files))
        io.stdout.write(`wrote ${path}\n`)
    }
    return 0
  },
}
