/**
 * The file-based sources: ServiceAccounts from a directory of YAML (multi-document, List, no namespace),
 * the reference Pod Identity identities file (watched: reload, missing/empty clears, malformed keeps the
 * last good set), and the manifest parser's errors.
 */
import assert from 'node:assert/strict'
import {
  mkdirSync,
  mkdtempSync,
  renameSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { WebhookError } from '../../../src/kube/errors.ts'
import { parseManifests } from '../../../src/kube/manifests.ts'
import { parseIdentitiesFile } from '../../../src/kube/pod-identity.ts'
import { startFilePodIdentitySource } from '../../../src/kube/pod-identity-file.ts'
import { relevantKeys } from '../../../src/kube/service-accounts.ts'
import {
  readServiceAccountsDir,
  startFileServiceAccountSource,
} from '../../../src/kube/service-accounts-files.ts'
import { recordingLogger, until } from './helpers.ts'

const keep = relevantKeys('eks.amazonaws.com')
const dirs: string[] = []
const temp = () => {
  const d = mkdtempSync(join(tmpdir(), 'podtrust-kube-files-'))
  dirs.push(d)
  return d
}
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })))

const SA_YAML = `apiVersion: v1
kind: ServiceAccount
metadata:
  name: s3-reader
  namespace: apps
  annotations:
    eks.amazonaws.com/role-arn: arn:aws:iam::111122223333:role/s3-reader
    meta.helm.sh/release-name: apps
---
# a Deployment in the same file is skipped
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
---
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ServiceAccount
  metadata:
    name: billing
    annotations:
      azure.workload.identity/client-id: 6c4d3b1a-2f0e-4c9d-8b7a-5e6f7a8b9c0d
`

void describe('ServiceAccounts from files', () => {
  void it('reads multi-document YAML and Lists, defaults the namespace, strips annotations', () => {
    const dir = temp()
    writeFileSync(join(dir, 'accounts.yaml'), SA_YAML)
    writeFileSync(
      join(dir, 'other.json'),
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'ServiceAccount',
        metadata: { name: 'j', namespace: 'x' },
      }),
    )
    writeFileSync(join(dir, 'notes.txt'), 'ignored')
    mkdirSync(join(dir, '..data'))
    const list = readServiceAccountsDir(dir, keep)
    assert.deepEqual(
      list.map((s) => `${s.metadata.namespace}/${s.metadata.name}`),
      ['apps/s3-reader', 'default/billing', 'x/j'],
    )
    assert.deepEqual(list[0]?.metadata.annotations, {
      'eks.amazonaws.com/role-arn': 'arn:aws:iam::111122223333:role/s3-reader',
    })
  })

  void it('refuses a malformed file at start with its name and line', () => {
    const dir = temp()
    writeFileSync(
      join(dir, 'bad.yaml'),
      'apiVersion: v1\nkind: ServiceAccount\nmetadata: [unclosed\n',
    )
    assert.throws(
      () => readServiceAccountsDir(dir, keep),
      (e: unknown) =>
        e instanceof WebhookError &&
        e.code === 'SOURCE_INVALID' &&
        /bad\.yaml` line \d/.test(e.message),
    )
    writeFileSync(join(dir, 'bad.yaml'), 'kind: ServiceAccount\nmetadata:\n  namespace: a\n')
    assert.throws(() => readServiceAccountsDir(dir, keep), /has no metadata.name/)
    assert.throws(
      () => readServiceAccountsDir(join(dir, 'missing'), keep),
      /cannot read ServiceAccounts directory/,
    )
  })

  void it('reloads on change and keeps the last good set when a file breaks', async () => {
    const dir = temp()
    writeFileSync(join(dir, 'a.yaml'), SA_YAML)
    const log = recordingLogger()
    const errors: unknown[] = []
    const source = startFileServiceAccountSource({
      dir,
      keep,
      log,
      onError: (e) => errors.push(e),
      pollMs: 200,
    })
    try {
      assert.equal(source.size(), 2)
      writeFileSync(
        join(dir, 'b.yaml'),
        'kind: ServiceAccount\nmetadata: {name: late, namespace: apps}\n',
      )
      await until(() => source.get('apps', 'late') !== undefined, 3000, 'reload')
      writeFileSync(
        join(dir, 'b.yaml'),
        'kind: ServiceAccount\nmetadata: {name: late, namespace: apps\n',
      )
      await until(() => errors.length > 0, 3000, 'the reload error')
      assert.equal(source.size(), 3, 'last good set kept')
      assert.ok(
        log.lines.some(
          (l) =>
            l.event === 'serviceaccounts.reload_failed' &&
            /b\.yaml/.test(String(l.fields['error'])),
        ),
      )
      // lookup waits for a ServiceAccount that appears within the wait
      const pending = source.lookup('apps', 'later', 3000)
      writeFileSync(
        join(dir, 'b.yaml'),
        'kind: ServiceAccount\nmetadata: {name: later, namespace: apps}\n',
      )
      assert.equal((await pending)?.metadata.name, 'later')
    } finally {
      await source.close()
    }
  })
})

void describe('the Pod Identity identities file', () => {
  void it('parses the reference format; empty means none; errors name the problem', () => {
    assert.deepEqual(
      parseIdentitiesFile(
        '{"identities":[{"namespace":"apps","serviceAccount":"s3","extra":1}]}',
        'f',
      ),
      [{ namespace: 'apps', serviceAccount: 's3' }],
    )
    assert.deepEqual(parseIdentitiesFile('', 'f'), [])
    assert.deepEqual(parseIdentitiesFile('  \n', 'f'), [])
    assert.deepEqual(parseIdentitiesFile('{}', 'f'), [])
    assert.deepEqual(parseIdentitiesFile('{"identities":null}', 'f'), [])
    for (const [text, pattern] of [
      ['{"identities":', /is not JSON/],
      ['[]', /must be an object/],
      ['{"identities":{}}', /must be an array/],
      [
        '{"identities":[{"namespace":"a"}]}',
        /identities\[0\] needs string "namespace" and "serviceAccount"/,
      ],
      ['{"identities":[null]}', /identities\[0\]/],
    ] as const) {
      assert.throws(() => parseIdentitiesFile(text, 'f'), pattern)
    }
  })

  void it('reloads on change (including a Kubernetes ..data symlink swap), clears on missing/empty, keeps on malformed', async () => {
    const dir = temp()
    // The layout of a ConfigMap volume: config.json -> ..data/config.json, ..data -> ..v1
    mkdirSync(join(dir, '..v1'))
    writeFileSync(
      join(dir, '..v1', 'config.json'),
      '{"identities":[{"namespace":"apps","serviceAccount":"a"}]}',
    )
    symlinkSync('..v1', join(dir, '..data'))
    symlinkSync('..data/config.json', join(dir, 'config.json'))
    const file = join(dir, 'config.json')
    const log = recordingLogger()
    const source = startFilePodIdentitySource({ file, log, pollMs: 200 })
    try {
      assert.equal(source.has('apps', 'a'), true)
      assert.equal(source.has('apps', 'b'), false)
      mkdirSync(join(dir, '..v2'))
      writeFileSync(
        join(dir, '..v2', 'config.json'),
        '{"identities":[{"namespace":"apps","serviceAccount":"b"}]}',
      )
      symlinkSync('..v2', join(dir, '..data_tmp'))
      renameSync(join(dir, '..data_tmp'), join(dir, '..data'))
      await until(() => source.has('apps', 'b'), 3000, 'the swapped file')
      assert.equal(source.has('apps', 'a'), false)

      unlinkSync(file)
      writeFileSync(file, '{"identities":[{"namespace":"apps"')
      await until(
        () => log.lines.some((l) => l.event === 'podidentity.file_invalid'),
        3000,
        'the error',
      )
      assert.equal(source.has('apps', 'b'), true, 'malformed: last good set kept')
      assert.equal(
        log.lines.find((l) => l.event === 'podidentity.file_invalid')?.fields['keptIdentities'],
        1,
      )

      writeFileSync(file, '')
      await until(() => source.size() === 0, 3000, 'empty clears')
      writeFileSync(file, '{"identities":[{"namespace":"x","serviceAccount":"y"}]}')
      await until(() => source.has('x', 'y'), 3000, 'reload')
      unlinkSync(file)
      await until(() => source.size() === 0, 3000, 'missing clears')
    } finally {
      await source.close()
    }
  })

  void it('starts with no identities when the file does not exist yet', async () => {
    const dir = temp()
    const source = startFilePodIdentitySource({
      file: join(dir, 'config.json'),
      log: recordingLogger(),
      pollMs: 200,
    })
    try {
      assert.equal(source.size(), 0)
      writeFileSync(
        join(dir, 'config.json'),
        '{"identities":[{"namespace":"n","serviceAccount":"s"}]}',
      )
      await until(() => source.has('n', 's'), 3000, 'the new file')
    } finally {
      await source.close()
    }
  })
})

void describe('manifest parsing', () => {
  void it('accepts duplicate keys (last wins, as sigs.k8s.io/yaml) and refuses scalars and bad List items', () => {
    const [pod] = parseManifests(
      'kind: Pod\nspec:\n  serviceAccountName: a\n  serviceAccountName: b\n',
      'p',
    )
    assert.equal((pod?.['spec'] as { serviceAccountName: string }).serviceAccountName, 'b')
    assert.throws(
      () => parseManifests('just a string', 'p'),
      /a document is not a Kubernetes object/,
    )
    assert.throws(
      () => parseManifests('kind: List\nitems: [1]\n', 'p'),
      /a List item is not an object/,
    )
    assert.deepEqual(parseManifests('---\n---\n', 'p'), [])
  })

  void it('bounds alias expansion (billion laughs)', () => {
    const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    for (let i = 1; i < 9; i++)
      bomb.push(
        `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [*${String.fromCharCode(96 + i)},*${String.fromCharCode(96 + i)},*${String.fromCharCode(96 + i)},*${String.fromCharCode(96 + i)},*${String.fromCharCode(96 + i)},*${String.fromCharCode(96 + i)},*${String.fromCharCode(96 + i)},*${String.fromCharCode(96 + i)},*${String.fromCharCode(96 + i)}]`,
      )
    assert.throws(
      () => parseManifests(bomb.join('\n'), 'bomb.yaml'),
      (e: unknown) => e instanceof WebhookError && /bomb\.yaml.*alias/i.test(e.message),
    )
  })
})
