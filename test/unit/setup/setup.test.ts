/**
 * `podtrust cluster setup` for each distribution: the kube-apiserver flags parsed with pflag's rules, kubeadm
 * and kind documents checked against their published API types, key files and modes, the discovery bundle
 * and a token signed with the generated key verifying against it; import, dry run, thumbprint.
 */
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { createPrivateKey, generateKeyPairSync, X509Certificate } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { after, before, describe, it } from 'node:test'
import { SignJWT, createLocalJWKSet, jwtVerify } from 'jose'
import { parse as parseYaml } from 'yaml'
import { main } from '../../../src/cli/main.ts'
import { createEksRepo } from '../../../src/aws/eks/repo.ts'
import { openDb } from '../../../src/server/store.ts'
import { kubeKeyId, publicJwkOf } from '../../../src/setup/keys.ts'
import { thumbprintOfChain } from '../../../src/setup/thumbprint.ts'
import { publishTargetFor } from '../../../src/setup/setup.ts'
import {
  KUBE_APISERVER_FLAG_TYPES,
  KUBE_CONTROLLER_MANAGER_FLAG_TYPES,
  parsePflags,
} from './pflag.ts'
import { checkKindCluster, checkKubeadmClusterConfiguration } from './schemas.ts'

export async function runCli(argv: string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
  const stdout = new PassThrough()
  const stderr = new PassThrough()
  let out = ''
  let err = ''
  stdout.on('data', (d: Buffer) => (out += d.toString()))
  stderr.on('data', (d: Buffer) => (err += d.toString()))
  const code = await main(argv, { stdout, stderr, env, cwd })
  return { code, out, err }
}

const ISSUER = 'https://oidc.example.com/clusters/lab'
const KEY_DIRS = {
  kubeadm: '/etc/podtrust/keys',
  kind: '/etc/podtrust/keys',
  rke2: '/etc/podtrust/keys',
  k3s: '/var/lib/rancher/k3s/server/tls/podtrust',
} as const

function checkApiServerFlags(args: string[], keyDir: string): void {
  const f = parsePflags(args, KUBE_APISERVER_FLAG_TYPES)
  // The first --service-account-issuer signs; the in-cluster default stays accepted for existing tokens.
  assert.deepEqual(f.get('service-account-issuer'), [
    ISSUER,
    'https://kubernetes.default.svc.cluster.local',
  ])
  assert.deepEqual(f.get('service-account-key-file'), [`${keyDir}/sa.pub`])
  assert.equal(f.get('service-account-signing-key-file'), `${keyDir}/sa.key`)
  assert.deepEqual(f.get('api-audiences'), ['https://kubernetes.default.svc.cluster.local', ISSUER])
  assert.equal(f.get('service-account-jwks-uri'), `${ISSUER}/openid/v1/jwks`)
  assert.equal(f.get('service-account-max-token-expiration'), 86_400)
  assert.equal(f.get('service-account-extend-token-expiration'), false)
}

void describe('podtrust cluster setup', () => {
  let dir: string
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'podtrust-setup-'))
  })
  after(() => rmSync(dir, { recursive: true, force: true }))

  for (const distro of ['kubeadm', 'k3s', 'kind', 'rke2'] as const) {
    void it(`${distro}: flags, keys, discovery bundle and registration`, async () => {
      const out = join(dir, `out-${distro}`)
      const data = join(dir, `data-${distro}`)
      const r = await runCli(
        [
          'cluster',
          'setup',
          `lab-${distro}`,
          '--distro',
          distro,
          '--issuer-url',
          ISSUER,
          '--out',
          out,
          '--data-dir',
          data,
          '--clouds',
          'aws,azure,gcp',
        ],
        dir,
      )
      assert.equal(r.code, 0, r.err)
      assert.match(
        r.out,
        /aws iam create-open-id-connect-provider --url https:\/\/oidc\.example\.com\/clusters\/lab --client-id-list sts\.amazonaws\.com/,
      )
      assert.match(
        r.out,
        /az identity federated-credential create .*--issuer https:\/\/oidc\.example\.com\/clusters\/lab .*--audience api:\/\/AzureADTokenExchange/,
      )
      assert.match(
        r.out,
        /gcloud iam workload-identity-pools providers create-oidc .*--issuer-uri=https:\/\/oidc\.example\.com\/clusters\/lab/,
      )
      assert.match(r.out, /openssl s_client -servername oidc\.example\.com -showcerts/)
      assert.doesNotMatch(r.out, /PRIVATE KEY/)

      // Keys: private 0600, public PEM, kid = kube-apiserver's.
      assert.equal(statSync(join(out, 'keys/sa.key')).mode & 0o777, 0o600)
      assert.equal(statSync(join(out, 'keys/sa.pub')).mode & 0o777, 0o644)
      const priv = createPrivateKey(readFileSync(join(out, 'keys/sa.key'), 'utf8'))
      assert.equal(priv.asymmetricKeyType, 'rsa')
      assert.equal(priv.asymmetricKeyDetails?.modulusLength, 2048)
      const jwk = publicJwkOf(readFileSync(join(out, 'keys/sa.pub'), 'utf8'))

      // Discovery bundle.
      const disco = JSON.parse(
        readFileSync(join(out, 'discovery/.well-known/openid-configuration'), 'utf8'),
      ) as Record<string, unknown>
      assert.equal(disco['issuer'], ISSUER)
      assert.equal(disco['jwks_uri'], `${ISSUER}/openid/v1/jwks`)
      const jwks = JSON.parse(readFileSync(join(out, 'discovery/openid/v1/jwks'), 'utf8')) as {
        keys: { kid: string }[]
      }
      assert.deepEqual(
        jwks.keys.map((k) => k.kid),
        [jwk.kid],
      )

      // A token signed with the generated key, as kube-apiserver signs, verifies against the JWKS.
      const token = await new SignJWT({ sub: 'system:serviceaccount:default:app' })
        .setProtectedHeader({ alg: 'RS256', kid: jwk.kid })
        .setIssuer(ISSUER)
        .setAudience('sts.amazonaws.com')
        .setIssuedAt()
        .setExpirationTime('1h')
        .sign(priv)
      const v = await jwtVerify(token, createLocalJWKSet(jwks as never), { issuer: ISSUER })
      assert.equal(v.payload.sub, 'system:serviceaccount:default:app')

      const keyDir = KEY_DIRS[distro]
      checkApiServerFlags(
        readFileSync(join(out, 'kube-apiserver-flags.txt'), 'utf8').trim().split('\n'),
        keyDir,
      )
      if (distro === 'kubeadm') {
        const v4 = parseYaml(readFileSync(join(out, 'kubeadm-config.yaml'), 'utf8')) as {
          apiServer: {
            extraArgs: { name: string; value: string }[]
            extraVolumes: { hostPath: string; mountPath: string }[]
          }
          controllerManager: { extraArgs: { name: string; value: string }[] }
        }
        checkKubeadmClusterConfiguration(v4, 'v1beta4')
        // kubeadm renders extraArgs as --name=value, in order, repeats kept.
        checkApiServerFlags(
          v4.apiServer.extraArgs.map((a) => `--${a.name}=${a.value}`),
          keyDir,
        )
        parsePflags(
          v4.controllerManager.extraArgs.map((a) => `--${a.name}=${a.value}`),
          KUBE_CONTROLLER_MANAGER_FLAG_TYPES,
        )
        assert.deepEqual(
          v4.apiServer.extraVolumes.map((x) => [x.hostPath, x.mountPath]),
          [[keyDir, keyDir]],
        )
        const v3 = parseYaml(readFileSync(join(out, 'kubeadm-config.v1beta3.yaml'), 'utf8')) as {
          apiServer: { extraArgs: Record<string, string> }
        }
        checkKubeadmClusterConfiguration(v3, 'v1beta3')
        assert.equal(v3.apiServer.extraArgs['service-account-issuer'], ISSUER)
      }
      if (distro === 'kind') {
        const kind = parseYaml(readFileSync(join(out, 'kind-config.yaml'), 'utf8')) as {
          nodes: { extraMounts: { hostPath: string; containerPath: string }[] }[]
          kubeadmConfigPatches: string[]
        }
        checkKindCluster(kind)
        assert.deepEqual(kind.nodes[0]?.extraMounts[0], {
          hostPath: join(out, 'keys'),
          containerPath: keyDir,
          readOnly: true,
        })
        const patch = parseYaml(kind.kubeadmConfigPatches[0] ?? '') as {
          apiServer: { extraArgs: Record<string, string> }
        }
        checkKubeadmClusterConfiguration(patch, 'v1beta3')
        const args = Object.entries(patch.apiServer.extraArgs).map(([k, v]) => `--${k}=${v}`)
        const f = parsePflags(args, KUBE_APISERVER_FLAG_TYPES)
        assert.deepEqual(f.get('service-account-issuer'), [ISSUER])
        assert.equal(f.get('service-account-signing-key-file'), `${keyDir}/sa.key`)
      }
      if (distro === 'k3s' || distro === 'rke2') {
        const cfg = parseYaml(readFileSync(join(out, `${distro}-config.yaml`), 'utf8')) as Record<
          string,
          string[]
        >
        const allowed = [
          'kube-apiserver-arg',
          'kube-controller-manager-arg',
          ...(distro === 'rke2'
            ? ['kube-apiserver-extra-mount', 'kube-controller-manager-extra-mount']
            : []),
        ]
        assert.deepEqual(Object.keys(cfg).sort(), allowed.sort())
        checkApiServerFlags(
          (cfg['kube-apiserver-arg'] ?? []).map((a) => `--${a}`),
          keyDir,
        )
        parsePflags(
          (cfg['kube-controller-manager-arg'] ?? []).map((a) => `--${a}`),
          KUBE_CONTROLLER_MANAGER_FLAG_TYPES,
        )
        if (distro === 'rke2')
          assert.deepEqual(cfg['kube-apiserver-extra-mount'], [`${keyDir}:${keyDir}:ro`])
        if (distro === 'k3s') {
          const lines = readFileSync(join(out, 'k3s-args.txt'), 'utf8').trim().split('\n')
          const api = lines
            .filter((l) => l.startsWith('--kube-apiserver-arg='))
            .map((l) => `--${l.slice('--kube-apiserver-arg='.length)}`)
          checkApiServerFlags(api, keyDir)
        }
      }

      // Registered as `cluster add NAME --issuer URL` registers.
      const db = await openDb({ dataDir: data })
      try {
        assert.equal((await createEksRepo(db).getCluster(`lab-${distro}`))?.issuerUrl, ISSUER)
      } finally {
        await db.close()
      }
      const again = await runCli(
        [
          'cluster',
          'setup',
          `lab-${distro}`,
          '--distro',
          distro,
          '--issuer-url',
          ISSUER,
          '--out',
          out,
          '--data-dir',
          data,
        ],
        dir,
      )
      assert.equal(again.code, 1)
      assert.match(again.err, /already set up/)
      // `cluster remove` forgets the set-up too, so the hint's way out works.
      const removed = await runCli(['cluster', 'remove', `lab-${distro}`, '--data-dir', data], dir)
      assert.equal(removed.code, 0, removed.err)
      const redo = await runCli(
        [
          'cluster',
          'setup',
          `lab-${distro}`,
          '--distro',
          distro,
          '--issuer-url',
          ISSUER,
          '--out',
          join(out, 'redo'),
          '--data-dir',
          data,
        ],
        dir,
      )
      assert.equal(redo.code, 0, redo.err)
    })
  }

  void it('imports a key (--key), keeping kube-apiserver’s kid', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
    const keyFile = join(dir, 'import.key')
    writeFileSync(keyFile, privateKey.export({ format: 'pem', type: 'sec1' }))
    const out = join(dir, 'out-import')
    const r = await runCli(
      [
        'cluster',
        'setup',
        'imp',
        '--distro',
        'kubeadm',
        '--issuer-url',
        ISSUER,
        '--out',
        out,
        '--data-dir',
        join(dir, 'data-imp'),
        '--key',
        keyFile,
      ],
      dir,
    )
    assert.equal(r.code, 0, r.err)
    const jwks = JSON.parse(readFileSync(join(out, 'discovery/openid/v1/jwks'), 'utf8')) as {
      keys: { kid: string; alg: string; crv: string }[]
    }
    assert.deepEqual(
      jwks.keys.map((k) => [k.kid, k.alg, k.crv]),
      [[kubeKeyId(publicKey), 'ES256', 'P-256']],
    )
  })

  void it('refuses a short RSA key and a non-https issuer', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 })
    const keyFile = join(dir, 'short.key')
    writeFileSync(keyFile, privateKey.export({ format: 'pem', type: 'pkcs1' }))
    const r = await runCli(
      [
        'cluster',
        'setup',
        'short',
        '--distro',
        'k3s',
        '--issuer-url',
        ISSUER,
        '--out',
        join(dir, 'o-short'),
        '--data-dir',
        join(dir, 'd-short'),
        '--key',
        keyFile,
      ],
      dir,
    )
    assert.equal(r.code, 1)
    assert.match(r.err, /1024 bits is too short/)
    const h = await runCli(
      [
        'cluster',
        'setup',
        'plain',
        '--distro',
        'k3s',
        '--issuer-url',
        'http://oidc.example.com',
        '--out',
        join(dir, 'o-plain'),
      ],
      dir,
    )
    assert.equal(h.code, 1)
    assert.match(h.err, /must use https/)
  })

  void it('accepts a plain-http issuer on loopback (development), warns and does not register it', async () => {
    const data = join(dir, 'data-loop')
    const r = await runCli(
      [
        'cluster',
        'setup',
        'loop',
        '--distro',
        'kind',
        '--issuer-url',
        'http://127.0.0.1:8080/dev',
        '--out',
        join(dir, 'out-loop'),
        '--data-dir',
        data,
      ],
      dir,
    )
    assert.equal(r.code, 0, r.err)
    assert.match(r.out, /WARNING: a plain-http issuer is for development/)
    const db = await openDb({ dataDir: data })
    try {
      assert.equal(await createEksRepo(db).getCluster('loop'), undefined)
    } finally {
      await db.close()
    }
  })

  void it('--dry-run prints the files and commands, writes nothing, never prints the private key', async () => {
    const out = join(dir, 'out-dry')
    const r = await runCli(
      [
        'cluster',
        'setup',
        'dry',
        '--distro',
        'rke2',
        '--issuer-url',
        ISSUER,
        '--out',
        out,
        '--data-dir',
        join(dir, 'data-dry'),
        '--dry-run',
      ],
      dir,
    )
    assert.equal(r.code, 0, r.err)
    assert.match(r.out, /==> .*keys\/sa\.key \(mode 600\)\n\(private key, not shown\)/)
    assert.match(
      r.out,
      /kube-apiserver-arg:\n\s+- service-account-issuer=https:\/\/oidc\.example\.com\/clusters\/lab/,
    )
    assert.doesNotMatch(r.out, /BEGIN PRIVATE KEY/)
    assert.equal(existsSync(out), false)
    assert.equal(existsSync(join(dir, 'data-dry')), false)
  })
})

void describe('setup: kid, thumbprint and schema checks', () => {
  void it(
    'the kid is kube-apiserver’s (the Azure Workload Identity test vector)',
    {
      skip:
        !existsSync('../shared/conformance/azure-workload-identity/unit_vectors.json') &&
        'no ../shared (a clone without the shared fixtures)',
    },
    () => {
      const v = JSON.parse(
        readFileSync('../shared/conformance/azure-workload-identity/unit_vectors.json', 'utf8'),
      ) as { jwks: { publicKeyPem: string; expectedJwks: { keys: Record<string, string>[] } } }
      const jwk = publicJwkOf(v.jwks.publicKeyPem)
      const want = v.jwks.expectedJwks.keys[0]!
      assert.equal(jwk.kid, want['kid'])
      assert.equal(jwk['n'], want['n'])
      assert.equal(jwk.alg, 'RS256')
    },
  )

  void it('thumbprint = SHA-1 of the last certificate of the chain, as openssl prints it', () => {
    const work = mkdtempSync(join(tmpdir(), 'podtrust-thumb-'))
    try {
      const certs: string[] = []
      for (const cn of ['leaf', 'intermediate']) {
        execFileSync(
          'openssl',
          [
            'req',
            '-x509',
            '-newkey',
            'ec',
            '-pkeyopt',
            'ec_paramgen_curve:P-256',
            '-nodes',
            '-keyout',
            join(work, `${cn}.key`),
            '-out',
            join(work, `${cn}.pem`),
            '-subj',
            `/CN=${cn}`,
            '-days',
            '1',
          ],
          { stdio: 'ignore' },
        )
        certs.push(readFileSync(join(work, `${cn}.pem`), 'utf8'))
      }
      const fp = execFileSync(
        'openssl',
        ['x509', '-in', join(work, 'intermediate.pem'), '-fingerprint', '-sha1', '-noout'],
        { encoding: 'utf8' },
      )
      const want = fp.split('=')[1]!.trim().replace(/:/g, '').toLowerCase()
      assert.equal(thumbprintOfChain(certs.join('')), want)
      assert.match(want, /^[0-9a-f]{40}$/)
      assert.notEqual(thumbprintOfChain(certs[0]!), want)
      assert.equal(new X509Certificate(certs[1]!).subject, 'CN=intermediate')
    } finally {
      rmSync(work, { recursive: true, force: true })
    }
  })

  void it('names the publish target of S3-hosted issuers (virtual-hosted and path-style)', () => {
    assert.equal(
      publishTargetFor('https://oidc-bucket.s3.eu-west-1.amazonaws.com/lab'),
      's3://oidc-bucket/lab',
    )
    assert.equal(
      publishTargetFor('https://s3.us-east-1.amazonaws.com/oidc-bucket/lab'),
      's3://oidc-bucket/lab',
    )
    assert.equal(publishTargetFor('https://oidc.example.com/lab'), 'WEB_ROOT/lab')
  })

  void it('the schema checks reject unknown keys, wrong types and v1beta3 maps in v1beta4', () => {
    assert.throws(
      () =>
        checkKubeadmClusterConfiguration(
          {
            apiVersion: 'kubeadm.k8s.io/v1beta4',
            kind: 'ClusterConfiguration',
            apiServer: { extraArgz: [] },
          },
          'v1beta4',
        ),
      /unknown field/,
    )
    assert.throws(
      () =>
        checkKubeadmClusterConfiguration(
          {
            apiVersion: 'kubeadm.k8s.io/v1beta4',
            kind: 'ClusterConfiguration',
            apiServer: { extraArgs: { a: 'b' } },
          },
          'v1beta4',
        ),
      /must be a list/,
    )
    assert.throws(
      () =>
        checkKubeadmClusterConfiguration(
          {
            apiVersion: 'kubeadm.k8s.io/v1beta3',
            kind: 'ClusterConfiguration',
            apiServer: {
              extraVolumes: [{ name: 'x', hostPath: '/a', mountPath: '/a', pathType: 'Dir' }],
            },
          },
          'v1beta3',
        ),
      /pathType/,
    )
    assert.throws(
      () =>
        checkKindCluster({
          kind: 'Cluster',
          apiVersion: 'kind.x-k8s.io/v1alpha4',
          nodes: [{ role: 'control-plane', extraMounts: [{ hostPath: '/a' }] }],
        }),
      /containerPath: is required/,
    )
    assert.throws(
      () => parsePflags(['--service-account-isuer=x'], KUBE_APISERVER_FLAG_TYPES),
      /unknown flag/,
    )
    assert.deepEqual(
      parsePflags(
        ['--api-audiences=a,"b,c"', '--api-audiences', 'd'],
        KUBE_APISERVER_FLAG_TYPES,
      ).get('api-audiences'),
      ['a', 'b,c', 'd'],
    )
  })
})
