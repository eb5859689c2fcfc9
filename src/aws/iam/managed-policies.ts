/**
 * @module aws/iam/managed-policies
 * The AWS managed policies the classic guides attach, with their real documents, ids and dates (AWS
 * Managed Policy reference, docs.aws.amazon.com/aws-managed-policy/latest/reference/). They are read-only
 * and global (`arn:aws:iam::aws:policy/…`); attaching one stores only the attachment.
 *
 * `ReadOnlyAccess` is, in AWS, a multi-thousand-action list; the version here keeps its shape (read verbs
 * per service, one statement) for the services podtrust's guides touch. Noted as a deliberate subset.
 */

export interface AwsManagedPolicy {
  arn: string
  policyName: string
  policyId: string
  path: string
  description: string
  defaultVersionId: string
  createDate: Date
  updateDate: Date
  document: string
}

const doc = (value: unknown): string => JSON.stringify(value, null, 2)

const READ_ONLY_SERVICES = [
  'acm',
  'apigateway',
  'autoscaling',
  'cloudformation',
  'cloudfront',
  'cloudtrail',
  'cloudwatch',
  'config',
  'dynamodb',
  'ec2',
  'ecr',
  'ecs',
  'eks',
  'elasticache',
  'elasticloadbalancing',
  'events',
  'iam',
  'kinesis',
  'kms',
  'lambda',
  'logs',
  'organizations',
  'rds',
  'route53',
  's3',
  'secretsmanager',
  'sns',
  'sqs',
  'ssm',
  'sts',
  'tag',
]

const CATALOG: AwsManagedPolicy[] = [
  {
    arn: 'arn:aws:iam::aws:policy/AdministratorAccess',
    policyName: 'AdministratorAccess',
    policyId: 'ANPAIWMBCKSKIEE64ZLYK',
    path: '/',
    description: 'Provides full access to AWS services and resources.',
    defaultVersionId: 'v1',
    createDate: new Date('2015-02-06T18:39:46Z'),
    updateDate: new Date('2015-02-06T18:39:46Z'),
    document: doc({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
    }),
  },
  {
    arn: 'arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess',
    policyName: 'AmazonS3ReadOnlyAccess',
    policyId: 'ANPAIZTJ4DXE7G6AGAE6M',
    path: '/',
    description: 'Provides read only access to all buckets via the AWS Management Console.',
    defaultVersionId: 'v3',
    createDate: new Date('2015-02-06T18:40:59Z'),
    updateDate: new Date('2023-08-10T21:31:39Z'),
    document: doc({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Action: [
            's3:Get*',
            's3:List*',
            's3:Describe*',
            's3-object-lambda:Get*',
            's3-object-lambda:List*',
          ],
          Resource: '*',
        },
      ],
    }),
  },
  {
    arn: 'arn:aws:iam::aws:policy/AmazonS3FullAccess',
    policyName: 'AmazonS3FullAccess',
    policyId: 'ANPAIFIR6V6BVTRAHWINE',
    path: '/',
    description: 'Provides full access to all buckets via the AWS Management Console.',
    defaultVersionId: 'v2',
    createDate: new Date('2015-02-06T18:40:58Z'),
    updateDate: new Date('2021-09-27T20:16:37Z'),
    document: doc({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: ['s3:*', 's3-object-lambda:*'], Resource: '*' }],
    }),
  },
  {
    arn: 'arn:aws:iam::aws:policy/AmazonSQSFullAccess',
    policyName: 'AmazonSQSFullAccess',
    policyId: 'ANPAI65L554VRJ33ECQS6',
    path: '/',
    description: 'Provides full access to Amazon SQS via the AWS Management Console.',
    defaultVersionId: 'v1',
    createDate: new Date('2015-02-06T18:41:07Z'),
    updateDate: new Date('2015-02-06T18:41:07Z'),
    document: doc({
      Version: '2012-10-17',
      Statement: [{ Action: ['sqs:*'], Effect: 'Allow', Resource: '*' }],
    }),
  },
  {
    arn: 'arn:aws:iam::aws:policy/AmazonSQSReadOnlyAccess',
    policyName: 'AmazonSQSReadOnlyAccess',
    policyId: 'ANPAIUGSSQY362XGCM6KW',
    path: '/',
    description: 'Provides read only access to Amazon SQS via the AWS Management Console.',
    defaultVersionId: 'v4',
    createDate: new Date('2015-02-06T18:41:08Z'),
    updateDate: new Date('2024-05-24T18:16:00Z'),
    document: doc({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'AmazonSQSReadOnlyAccess',
          Effect: 'Allow',
          Action: [
            'sqs:GetQueueAttributes',
            'sqs:GetQueueUrl',
            'sqs:ListDeadLetterSourceQueues',
            'sqs:ListQueues',
            'sqs:ListMessageMoveTasks',
            'sqs:ListQueueTags',
          ],
          Resource: '*',
        },
      ],
    }),
  },
  {
    arn: 'arn:aws:iam::aws:policy/ReadOnlyAccess',
    policyName: 'ReadOnlyAccess',
    policyId: 'ANPAILL3HVNFSB6DCOWYQ',
    path: '/',
    description: 'Provides read-only access to AWS services and resources.',
    defaultVersionId: 'v1',
    createDate: new Date('2015-02-06T18:39:48Z'),
    updateDate: new Date('2015-02-06T18:39:48Z'),
    document: doc({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Action: READ_ONLY_SERVICES.flatMap((s) => [`${s}:Describe*`, `${s}:Get*`, `${s}:List*`]),
          Resource: '*',
        },
      ],
    }),
  },
]

const BY_ARN = new Map(CATALOG.map((p) => [p.arn, p]))

export function awsManagedPolicy(arn: string): AwsManagedPolicy | undefined {
  return BY_ARN.get(arn)
}

export function awsManagedPolicies(): readonly AwsManagedPolicy[] {
  return CATALOG
}
