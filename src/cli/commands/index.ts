import type { Command } from '../command.ts'

/**
 * One row of the command table: what `podtrust --help` lists, and how to load the command's module. Modules
 * load only when their command runs (or its `--help` is asked for), so `podtrust --version` and
 * `podtrust --help` import almost nothing; test/unit/cli/command-table.test.ts keeps each row's name and
 * summary equal to the module's own.
 */
export interface CommandEntry {
  readonly name: string
  readonly summary: string
  load(): Promise<Command>
}

/**
 * Every top-level command, in the order `podtrust --help` lists them. Each command lives in its own module
 * under this folder; adding one is one row here (name, summary, a dynamic import).
 */
export const commandTable: readonly CommandEntry[] = [
  {
    name: 'up',
    summary: 'Start the local stack (issuer, STS, IAM, …) and print the client environment',
    load: async () => (await import('./up.ts')).upCommand,
  },
  {
    name: 'apply',
    summary: 'Apply a declarative YAML config (roles, policies, providers, …)',
    load: async () => (await import('./apply.ts')).applyCommand,
  },
  {
    name: 'export',
    summary: 'Write the current configuration as YAML',
    load: async () => (await import('./export.ts')).exportCommand,
  },
  {
    name: 'generate',
    summary: 'Generate Terraform, CloudFormation or Kubernetes manifests from a workload spec',
    load: async () => (await import('./generate.ts')).generateCommand,
  },
  {
    name: 'migrate',
    summary: 'Plan a move between kube2iam/kiam, IRSA and EKS Pod Identity (migrate plan)',
    load: async () => (await import('./migrate.ts')).migrateCommand,
  },
  {
    name: 'token',
    summary: 'Mint a service-account token (kube-apiserver claims) for a namespace/service account',
    load: async () => (await import('./token.ts')).tokenCommand,
  },
  {
    name: 'keys',
    summary: "List or rotate an issuer's signing keys, or rotate the session-token keyring",
    load: async () => (await import('./keys.ts')).keysCommand,
  },
  {
    name: 'certs',
    summary: "Create podtrust's CA if needed and print its certificate's path",
    load: async () => (await import('./certs.ts')).certsCommand,
  },
  {
    name: 'audit',
    summary: 'Show the audit log (audit tail)',
    load: async () => (await import('./audit.ts')).auditCommand,
  },
  {
    name: 'cluster',
    summary:
      'Register clusters (add, list, remove); set up self-hosted issuers (setup, verify, rotate)',
    load: async () => (await import('./cluster.ts')).clusterCommand,
  },
  {
    name: 'agent',
    summary: 'Run the EKS Pod Identity node agent (container credentials endpoint)',
    load: async () => (await import('./agent.ts')).agentCommand,
  },
  {
    name: 'azure',
    summary: 'Entra-compatible workload identity: list, env, federated credentials',
    load: async () => (await import('./azure.ts')).azureCommand,
  },
  {
    name: 'gcp',
    summary: 'Google workload identity federation: list, credential files, IAM bindings',
    load: async () => (await import('./gcp.ts')).gcpCommand,
  },
  {
    name: 'policy',
    summary: 'Validate IAM policy documents and simulate requests through the policy engine',
    load: async () => (await import('./policy.ts')).policyCommand,
  },
  {
    name: 'webhook',
    summary: 'Run the mutating admission webhook, or show what it does to a pod',
    load: async () => (await import('./webhook.ts')).webhookCommand,
  },
  {
    name: 'gateway',
    summary: 'Run the S3/SQS gateway that enforces podtrust credentials and policies',
    load: async () => (await import('./gateway.ts')).gatewayCommand,
  },
  {
    name: 'scan',
    summary: 'Audit which pod can reach which cloud role, with which permissions (offline)',
    load: async () => (await import('./scan.ts')).scanCommand,
  },
  {
    name: 'doctor',
    summary: 'Explain why a workload identity chain works or not, link by link',
    load: async () => (await import('./doctor.ts')).doctorCommand,
  },
  {
    name: 'test',
    summary:
      'Check policy-as-code scenarios (who can do what) with the policy engine; TAP/JUnit output',
    load: async () => (await import('./test.ts')).testCommand,
  },
  {
    name: 'admin-credentials',
    summary: 'Print the bootstrap administrator access key',
    load: async () => (await import('./admin-credentials.ts')).adminCredentialsCommand,
  },
  {
    name: 'issuer',
    summary: "Show or change the default issuer URL; publish a self-hosted cluster's discovery",
    load: async () => (await import('./issuer.ts')).issuerCommand,
  },
  {
    name: 'db',
    summary: 'Declare the database instances the IAM-auth database proxy serves',
    load: async () => (await import('./db.ts')).dbCommand,
  },
  {
    name: 'dbproxy',
    summary: 'Run the IAM-auth database proxy (PostgreSQL, MySQL) in front of real databases',
    load: async () => (await import('./dbproxy.ts')).dbproxyCommand,
  },
]

/** Every command module, loaded (for docs/cli.md generation and tests), in table order. */
export async function loadCommands(): Promise<Command[]> {
  return Promise.all(commandTable.map((entry) => entry.load()))
}
