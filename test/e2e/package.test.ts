/**
 * The published package, as a user gets it: `npm pack` (its prepare script builds dist/) in a copy of the checkout, the
 * tarball installed into an empty project, then plain Node out of node_modules: `npx podtrust --version`,
 * `podtrust up` to a healthy /healthz, and `import 'podtrust/policy'` from a .mjs file. Nothing from src/ or
 * tsx may be needed at run time.
 */
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import type { SpawnSyncReturns } from 'node:child_process'
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../..', import.meta.url))
const npmCli =
  process.env.npm_execpath?.endsWith('.js') === true ? process.env.npm_execpath : undefined

/** Runs npm (the one beside this node, or npm_execpath when npm started us). */
function npm(args: string[], cwd: string): SpawnSyncReturns<string> {
  const command = npmCli === undefined ? 'npm' : process.execPath
  const argv = npmCli === undefined ? args : [npmCli, ...args]
  return spawnSync(command, argv, {
    cwd,
    encoding: 'utf8',
    timeout: 240_000,
    env: {
      ...process.env,
      npm_config_audit: 'false',
      npm_config_fund: 'false',
      npm_config_update_notifier: 'false',
    },
  })
}

function check(r: SpawnSyncReturns<string>, what: string): string {
  assert.equal(r.status, 0, `${what} failed (${r.status}):\n${r.stdout}\n${r.stderr}`)
  return r.stdout
}

void describe('the packed tarball', { timeout: 600_000 }, () => {
  let work: string
  let project: string

  before(() => {
    work = mkdtempSync(join(tmpdir(), 'podtrust-pack-'))
    // Pack from a copy of the checkout so a parallel run's dist/ is never half-deleted under it.
    const checkout = join(work, 'checkout')
    mkdirSync(checkout)
    for (const entry of [
      'package.json',
      'README.md',
      'tsconfig.json',
      'tsconfig.build.json',
      'scripts',
      'src',
      'deploy',
      'docs',
    ]) {
      cpSync(join(root, entry), join(checkout, entry), { recursive: true })
    }
    if (existsSync(join(root, 'LICENSE'))) cpSync(join(root, 'LICENSE'), join(checkout, 'LICENSE'))
    symlinkSync(join(root, 'node_modules'), join(checkout, 'node_modules'), 'dir')
    const packed = check(npm(['pack', '--json', '--pack-destination', work], checkout), 'npm pack')
    const manifest = JSON.parse(packed.slice(packed.indexOf('['))) as {
      filename: string
      files: { path: string }[]
    }[]
    const files = manifest[0]!.files.map((f) => f.path)
    assert.ok(files.includes('dist/cli/bin.js'), 'dist/cli/bin.js is packed')
    assert.ok(files.includes('dist/policy/index.d.ts'), 'the policy types are packed')
    assert.ok(
      files.includes('dist/store/sqlite-writer.worker.mjs'),
      'the SQLite writer worker is packed',
    )
    assert.ok(files.includes('dist/config/demo.yaml'), 'the demo config is packed')
    assert.deepEqual(
      files.filter((f) => f.startsWith('src/') || f.endsWith('.test.js')),
      [],
      'no sources or tests',
    )
    const tarball = join(work, manifest[0]!.filename)

    project = join(work, 'project')
    mkdirSync(project)
    writeFileSync(
      join(project, 'package.json'),
      JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
    )
    // --prefer-offline: the repository's own `npm ci` filled the npm cache with these exact versions.
    // --ignore-scripts: better-sqlite3 would compile SQLite from source (minutes on two cores; no prebuilt
    // binary can be downloaded here); its compiled addon is taken from the checkout's install instead
    // (same version, same Node).
    check(
      npm(
        ['install', '--prefer-offline', '--ignore-scripts', '--no-package-lock', tarball],
        project,
      ),
      'npm install',
    )
    cpSync(
      join(root, 'node_modules', 'better-sqlite3', 'build'),
      join(project, 'node_modules', 'better-sqlite3', 'build'),
      { recursive: true },
    )
  })

  after(() => {
    if (work !== undefined) rmSync(work, { recursive: true, force: true })
  })

  void it('installs no TypeScript loader and no sources', () => {
    const installed = join(project, 'node_modules')
    assert.equal(existsSync(join(installed, 'tsx')), false, 'tsx is a devDependency only')
    assert.equal(existsSync(join(installed, 'podtrust', 'src')), false)
    assert.ok(readdirSync(join(installed, 'podtrust', 'dist')).includes('cli'))
  })

  void it('npx podtrust --version prints the package version', () => {
    const out = check(
      npm(['exec', '--offline', '--no', '--', 'podtrust', '--version'], project),
      'npx podtrust --version',
    )
    assert.equal(out.trim(), '0.1.0')
  })

  void it('podtrust up serves a healthy /healthz', async () => {
    const bin = join(project, 'node_modules', '.bin', 'podtrust')
    const dataDir = join(work, 'data')
    const proc = spawn(
      bin,
      ['up', '--port', '0', '--https-port', '0', '--log-level', 'warn', '--data-dir', dataDir],
      {
        cwd: project,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
    let out = ''
    proc.stdout.on('data', (c: Buffer) => (out += c.toString()))
    proc.stderr.on('data', (c: Buffer) => (out += c.toString()))
    const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)))
    try {
      const deadline = Date.now() + 60_000
      let m: RegExpExecArray | null = null
      while ((m = /ready on (http:\/\/\S+)/.exec(out)) === null) {
        if (proc.exitCode !== null || Date.now() > deadline)
          assert.fail(`podtrust up did not start:\n${out}`)
        await new Promise((r) => setTimeout(r, 50))
      }
      const res = await fetch(`${m[1]}/healthz`)
      assert.equal(res.status, 200, await res.text())
    } finally {
      proc.kill('SIGTERM')
      assert.equal(await exited, 0, `podtrust up exits 0 on SIGTERM:\n${out}`)
    }
  })

  void it('podtrust/policy has types a TypeScript consumer resolves (exports: types first)', () => {
    writeFileSync(
      join(project, 'typed.ts'),
      [
        "import { authorize, compilePolicy, type AuthorizationResult } from 'podtrust/policy'",
        "const policy = compilePolicy({ Version: '2012-10-17', Statement: [] })",
        "const result: AuthorizationResult = authorize({ principal: 'p', action: 'a', resource: '*',",
        '  context: {}, identityPolicies: [policy] })',
        '// @ts-expect-error: the decision is a closed union, not any string',
        "const wrong: typeof result.decision = 'Maybe'",
        'export { wrong }',
      ].join('\n'),
    )
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc')
    const args = ['--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext']
    const r = spawnSync(
      process.execPath,
      [
        tsc,
        ...args,
        '--types',
        'node',
        '--typeRoots',
        join(root, 'node_modules', '@types'),
        'typed.ts',
      ],
      { cwd: project, encoding: 'utf8' },
    )
    assert.equal(r.status, 0, `tsc on a consumer of podtrust/policy:\n${r.stdout}${r.stderr}`)
  })

  void it('imports podtrust/policy from a plain .mjs file', () => {
    writeFileSync(
      join(project, 'decide.mjs'),
      [
        "import { authorize, compilePolicy } from 'podtrust/policy'",
        'const policy = compilePolicy({',
        "  Version: '2012-10-17',",
        "  Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/*' }],",
        '})',
        "const request = (resource) => ({ principal: 'arn:aws:iam::111122223333:role/r', action: 's3:GetObject',",
        '  resource, context: {}, identityPolicies: [policy] })',
        "console.log(authorize(request('arn:aws:s3:::b/k')).decision, authorize(request('arn:aws:s3:::c/k')).decision)",
      ].join('\n'),
    )
    const out = check(
      spawnSync(process.execPath, ['decide.mjs'], { cwd: project, encoding: 'utf8' }),
      'node decide.mjs',
    )
    assert.equal(out.trim(), 'Allowed ImplicitlyDenied')
  })
})
