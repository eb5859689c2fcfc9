/**
 * `podtrust generate terraform|cloudformation|manifests --spec FILE --out DIR`: the command writes the files
 * of its target, prints them without --out, and names the file and path of a spec error.
 */
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { after, describe, it } from 'node:test'
import { generateCommand } from '../../../src/cli/commands/generate.ts'
import { FULL_SPEC } from './spec-example.ts'

const dir = mkdtempSync(join(tmpdir(), 'podtrust-generate-cli-'))
after(() => rmSync(dir, { recursive: true, force: true }))
writeFileSync(join(dir, 'spec.yaml'), FULL_SPEC)

async function run(argv: string[]): Promise<{ code: number; stdout: string }> {
  const stdout = new PassThrough()
  let out = ''
  stdout.on('data', (c: Buffer) => (out += c.toString()))
  const code = await generateCommand.run(argv, {
    stdout,
    stderr: new PassThrough(),
    env: {},
    cwd: dir,
  })
  return { code, stdout: out }
}

void describe('podtrust generate', () => {
  void it('writes each target under --out', async () => {
    for (const [target, files] of [
      ['terraform', ['main.tf', 'podtrust.yaml']],
      ['cloudformation', ['template.json', 'podtrust.yaml']],
      [
        'manifests',
        [
          'serviceaccounts.yaml',
          'kustomization.yaml',
          'component/kustomization.yaml',
          'annotate/kustomization.yaml',
        ],
      ],
    ] as const) {
      const out = join(dir, target)
      const { code } = await run([target, '--spec', 'spec.yaml', '--out', out])
      assert.equal(code, 0)
      for (const f of files) assert.ok(existsSync(join(out, f)), `${target}: ${f}`)
    }
    assert.equal(
      JSON.parse(readFileSync(join(dir, 'cloudformation', 'template.json'), 'utf8'))
        .AWSTemplateFormatVersion,
      '2010-09-09',
    )
  })

  void it('prints the files without --out', async () => {
    const { stdout } = await run(['terraform', '--spec', 'spec.yaml'])
    assert.match(stdout, /^# ---- main\.tf\n/)
    assert.match(stdout, /\n# ---- podtrust\.yaml\n/)
  })

  void it('names the file and the path of a spec error, and rejects an unknown target', async () => {
    writeFileSync(join(dir, 'bad.yaml'), FULL_SPEC.replace('method: irsa', 'methd: irsa'))
    await assert.rejects(run(['terraform', '--spec', 'bad.yaml']), {
      message: 'bad.yaml: workloads[0].aws.methd: unknown key `methd`',
    })
    await assert.rejects(run(['pulumi', '--spec', 'spec.yaml']), /unknown target 'pulumi'/)
    await assert.rejects(run(['terraform']), /missing --spec FILE/)
  })
})
