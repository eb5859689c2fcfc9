/**
 * The spec the generate tests share: every cloud, both AWS methods, customer and AWS managed policies, and
 * a value that must be escaped in HCL (`${aws:username}` is an IAM policy variable, not Terraform's).
 */
export const FULL_SPEC = `version: 1
cluster:
  name: eks-workshop
  issuer: https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE
aws:
  accountId: '111122223333'
  region: us-west-2
azure:
  tenantId: 72f988bf-86f1-41af-91ab-2d7cd011db47
  subscriptionId: 11111111-2222-3333-4444-555555555555
  resourceGroup: workloads
  location: westeurope
gcp:
  projectId: demo-project
  projectNumber: '123456789012'
workloads:
  - name: carts
    namespace: carts
    aws:
      method: irsa
      permissions:
        - actions: [dynamodb:GetItem, dynamodb:PutItem, dynamodb:Query]
          resources:
            - arn:aws:dynamodb:us-west-2:111122223333:table/eks-workshop-carts
            - arn:aws:dynamodb:us-west-2:111122223333:table/eks-workshop-carts/index/*
  - name: checkout
    namespace: checkout
    serviceAccount: checkout-sa
    aws:
      method: pod-identity
      rolePath: /workloads/
      permissions:
        - actions: [s3:GetObject]
          resources: ['arn:aws:s3:::checkout-\${aws:username}/*']
      managedPolicies: [arn:aws:iam::aws:policy/AmazonSQSReadOnlyAccess]
  - name: reports
    namespace: analytics
    azure:
      clientId: 0b6f2c1e-8f5e-4f3c-9a57-7d1a0a2b3c4d
      roleAssignments:
        - role: Storage Blob Data Reader
          scope: /subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/workloads
    gcp:
      serviceAccountId: reports-reader
      roles: [roles/storage.objectViewer]
  - name: indexer
    namespace: analytics
    gcp:
      roles: [roles/pubsub.subscriber]
`
