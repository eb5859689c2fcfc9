/**
 * @module setup/cloud
 * The cloud-side commands that trust a self-hosted issuer: an AWS IAM OIDC provider
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_providers_create_oidc.html), an Azure
 * user-assigned identity's federated credential
 * (https://learn.microsoft.com/azure/aks/workload-identity-deploy-cluster#establish-federated-identity-credential),
 * a Google workload identity pool provider
 * (https://cloud.google.com/iam/docs/workload-identity-federation-with-kubernetes). Upper-case words are
 * placeholders the operator fills in.
 */
export type Cloud = 'aws' | 'azure' | 'gcp'
export const CLOUDS: readonly Cloud[] = ['aws', 'azure', 'gcp']

export interface CloudInput {
  clusterName: string
  issuerUrl: string
  thumbprint: string | undefined
}

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:=@,+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`
}

export function cloudCommands(cloud: Cloud, input: CloudInput): string[] {
  const issuer = shellQuote(input.issuerUrl)
  switch (cloud) {
    case 'aws':
      return [
        '# AWS: an IAM OIDC provider for the issuer (audience sts.amazonaws.com, what the webhook requests)',
        `aws iam create-open-id-connect-provider --url ${issuer} --client-id-list sts.amazonaws.com` +
          (input.thumbprint === undefined ? '' : ` --thumbprint-list ${input.thumbprint}`),
        '# then a role whose trust policy allows sts:AssumeRoleWithWebIdentity for one service account:',
        `#   "Principal": {"Federated": "arn:aws:iam::ACCOUNT_ID:oidc-provider/${input.issuerUrl.replace(/^https?:\/\//, '')}"},`,
        `#   "Condition": {"StringEquals": {"${input.issuerUrl.replace(/^https?:\/\//, '')}:sub": "system:serviceaccount:NAMESPACE:SERVICE_ACCOUNT",`,
        `#                                  "${input.issuerUrl.replace(/^https?:\/\//, '')}:aud": "sts.amazonaws.com"}}`,
      ]
    case 'azure':
      return [
        '# Azure: a federated identity credential on a user-assigned managed identity',
        `az identity federated-credential create --name ${shellQuote(`${input.clusterName}-SERVICE_ACCOUNT`)} ` +
          `--identity-name IDENTITY_NAME --resource-group RESOURCE_GROUP --issuer ${issuer} ` +
          '--subject system:serviceaccount:NAMESPACE:SERVICE_ACCOUNT --audience api://AzureADTokenExchange',
      ]
    case 'gcp':
      return [
        '# Google Cloud: a workload identity pool and an OIDC provider for the issuer',
        'gcloud iam workload-identity-pools create POOL_ID --location=global',
        `gcloud iam workload-identity-pools providers create-oidc ${shellQuote(input.clusterName.toLowerCase().replace(/[^a-z0-9-]/g, '-'))} ` +
          `--location=global --workload-identity-pool=POOL_ID --issuer-uri=${issuer} ` +
          '--attribute-mapping=google.subject=assertion.sub',
      ]
  }
}
