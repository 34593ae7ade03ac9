import { BinaryName } from '../lib/functions';
import { build, normalizeStatement, roleStatements, sortStatements } from './harness';

const { stack, template } = build();
const json = template.toJSON();
const r = (x: unknown) => stack.resolve(x);
const id = (c: { node: { defaultChild?: unknown } }) => stack.getLogicalId(c.node.defaultChild as any);
const arn = (c: { node: { defaultChild?: unknown } }) => ({ 'Fn::GetAtt': [id(c), 'Arn'] });

const XRAY = { Action: ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'], Resource: ['*'] };
const logsFor = (fn: BinaryName) => {
  const logGroup = stack.functions.node.findAll().find((c) => c.node.path.endsWith(`/${{
    put_item: 'PutItem', put_object: 'PutObject', get_item: 'GetItem', get_object: 'GetObject', notify_vendor: 'NotifyVendor', clear_cart: 'ClearCart',
    deliver_ticket: 'DeliverTicket',
  }[fn]}Logs`))!;
  return { Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: [arn(logGroup as any)] };
};
const invoiceObjects = r(stack.storage.invoiceBucket.arnForObjects('invoices/*'));
const consume = (queue: { node: { defaultChild?: unknown } }) => [
  { Action: ['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:ReceiveMessage'], Resource: [arn(queue)] },
  { Action: ['kms:Decrypt'], Resource: [arn(stack.messaging.queueKey)] },
];
const allow = (s: { Action: string[]; Resource: unknown[] }[]) => sortStatements(s.map((x) => ({ Effect: 'Allow', ...x })));

const expected: Record<BinaryName, { Action: string[]; Resource: unknown[] }[]> = {
  put_item: [logsFor('put_item'), XRAY, { Action: ['dynamodb:PutItem'], Resource: [arn(stack.storage.cartTable)] }],
  put_object: [
    logsFor('put_object'), XRAY,
    { Action: ['s3:GetObject', 's3:PutObject'], Resource: [invoiceObjects] },
    { Action: ['dynamodb:PutItem'], Resource: [arn(stack.storage.invoiceIndexTable)] },
  ],
  get_item: [logsFor('get_item'), XRAY, { Action: ['dynamodb:GetItem'], Resource: [arn(stack.storage.cartTable)] }],
  get_object: [
    logsFor('get_object'), XRAY,
    { Action: ['s3:GetObject'], Resource: [invoiceObjects] },
    { Action: ['dynamodb:GetItem', 'dynamodb:Query'], Resource: [arn(stack.storage.invoiceIndexTable)] },
  ],
  notify_vendor: [
    logsFor('notify_vendor'), XRAY,
    { Action: ['dynamodb:Query'], Resource: [arn(stack.storage.vendorTable)] },
    { Action: ['dynamodb:GetItem', 'dynamodb:PutItem'], Resource: [arn(stack.storage.deliveryTable)] },
    { Action: ['sqs:SendMessage'], Resource: [arn(stack.messaging.deliveries.queue)] },
    { Action: ['kms:Decrypt', 'kms:GenerateDataKey'], Resource: [arn(stack.messaging.queueKey)] },
    ...consume(stack.messaging.notifyVendor.queue),
  ],
  clear_cart: [
    logsFor('clear_cart'), XRAY,
    { Action: ['dynamodb:DeleteItem'], Resource: [arn(stack.storage.cartTable)] },
    ...consume(stack.messaging.clearCart.queue),
  ],
  deliver_ticket: [
    logsFor('deliver_ticket'), XRAY,
    { Action: ['dynamodb:GetItem', 'dynamodb:UpdateItem'], Resource: [arn(stack.storage.vendorTable)] },
    { Action: ['dynamodb:GetItem', 'dynamodb:PutItem'], Resource: [arn(stack.storage.deliveryTable)] },
    { Action: ['sns:Publish'], Resource: [{ Ref: id(stack.messaging.topic) }] },
    { Action: ['kms:Decrypt', 'kms:GenerateDataKey'], Resource: [arn(stack.messaging.topicKey)] },
    ...consume(stack.messaging.deliveries.queue),
  ],
};

describe('function roles are exactly least privilege', () => {
  test.each(Object.keys(expected) as BinaryName[])('%s', (bin) => {
    const role = stack.functions.roles[bin];
    const { statements, managed } = roleStatements(template, id(role));
    expect(managed).toEqual([]);
    expect(statements).toEqual(allow(expected[bin]));
    expect(json.Resources[id(role)].Properties.AssumeRolePolicyDocument.Statement).toEqual([
      { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } },
    ]);
  });

  test('each function runs as its own role', () => {
    const roles = Object.values<any>(json.Resources).filter((x) => x.Type === 'AWS::Lambda::Function').map((f) => JSON.stringify(f.Properties.Role));
    expect(new Set(roles).size).toBe(7);
    expect(Object.keys(stack.functions.roles).sort()).toEqual(Object.keys(expected).sort());
  });
});

test('only notify_vendor sends to the deliveries queue, and only deliver_ticket consumes it', () => {
  const queue = id(stack.messaging.deliveries.queue);
  const users: [string, string[]][] = [];
  for (const res of Object.values<any>(json.Resources)) {
    if (res.Type !== 'AWS::IAM::Policy') continue;
    for (const s of res.Properties.PolicyDocument.Statement) {
      if (!JSON.stringify(s.Resource).includes(`"${queue}"`)) continue;
      for (const role of res.Properties.Roles) users.push([role.Ref, [s.Action].flat().sort()]);
    }
  }
  expect(users.sort(([a], [b]) => a.localeCompare(b))).toEqual([
    [id(stack.functions.roles.deliver_ticket), ['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:ReceiveMessage']],
    [id(stack.functions.roles.notify_vendor), ['sqs:SendMessage']],
  ].sort(([a], [b]) => (a as string).localeCompare(b as string)));
});

test('the invoice index table is reachable only by put_object (PutItem) and get_object (GetItem, Query), on its ARN alone', () => {
  const table = id(stack.storage.invoiceIndexTable);
  const grants: [string, unknown][] = [];
  const visit = (owner: string, doc: any) => {
    for (const s of doc?.Statement ?? []) {
      if (JSON.stringify(s).includes(`"${table}"`)) grants.push([owner, normalizeStatement(s)]);
    }
  };
  for (const [logicalId, res] of Object.entries<any>(json.Resources)) {
    const p = res.Properties ?? {};
    const owners = res.Type === 'AWS::IAM::Policy' ? (p.Roles ?? []).map((x: any) => x.Ref) : [logicalId];
    for (const owner of owners) {
      visit(owner, p.PolicyDocument);
      visit(owner, p.KeyPolicy);
      for (const inline of p.Policies ?? []) visit(owner, inline.PolicyDocument);
    }
  }
  const tableArn = arn(stack.storage.invoiceIndexTable);
  expect(grants.sort(([a], [b]) => a.localeCompare(b))).toEqual([
    [id(stack.functions.roles.get_object), { Effect: 'Allow', Action: ['dynamodb:GetItem', 'dynamodb:Query'], Resource: [tableArn] }],
    [id(stack.functions.roles.put_object), { Effect: 'Allow', Action: ['dynamodb:PutItem'], Resource: [tableArn] }],
  ].sort(([a], [b]) => (a as string).localeCompare(b as string)));
  // Any statement naming the table (its ARN, an index or stream ARN built from it) is in the list
  // above. And the table has no resource policy of its own.
  expect(json.Resources[table].Properties.ResourcePolicy).toBeUndefined();
});

test('state machine role: two functions, the topic (+ its key), the cart table, and the logs/X-Ray statements SFN needs', () => {
  const { statements, managed } = roleStatements(template, id(stack.orderFlow.role));
  expect(managed).toEqual([]);
  expect(statements).toEqual(allow([
    { Action: ['lambda:InvokeFunction'], Resource: [arn(stack.functions.putItem), arn(stack.functions.putObject)] },
    { Action: ['sns:Publish'], Resource: [{ Ref: id(stack.messaging.topic) }] },
    { Action: ['kms:Decrypt', 'kms:GenerateDataKey'], Resource: [arn(stack.messaging.topicKey)] },
    { Action: ['dynamodb:DeleteItem'], Resource: [arn(stack.storage.cartTable)] },
    {
      Action: ['logs:CreateLogDelivery', 'logs:DeleteLogDelivery', 'logs:DescribeLogGroups', 'logs:DescribeResourcePolicies', 'logs:GetLogDelivery', 'logs:ListLogDeliveries', 'logs:PutResourcePolicy', 'logs:UpdateLogDelivery'],
      Resource: ['*'],
    },
    { Action: ['xray:GetSamplingRules', 'xray:GetSamplingTargets', 'xray:PutTelemetryRecords', 'xray:PutTraceSegments'], Resource: ['*'] },
  ]));
});

test('API role: start this state machine, describe its executions', () => {
  const { statements, managed } = roleStatements(template, id(stack.api.role));
  expect(managed).toEqual([]);
  expect(statements).toEqual(allow([
    { Action: ['states:StartExecution'], Resource: [{ Ref: id(stack.orderFlow.stateMachine) }] },
    {
      Action: ['states:DescribeExecution'],
      Resource: [{ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':states:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':execution:', { 'Fn::GetAtt': [id(stack.orderFlow.stateMachine), 'Name'] }, ':*']] }],
    },
  ]));
});

test('no wildcard action in any IAM, key, bucket, topic or queue policy that allows', () => {
  const actions: string[] = [];
  const visit = (doc: any) => {
    for (const s of doc?.Statement ?? []) {
      if (s.Effect !== 'Allow') continue; // TLS-only guards deny s3:*/sqs:*/sns:Publish to everyone
      actions.push(...(Array.isArray(s.Action) ? s.Action : [s.Action]));
    }
  };
  for (const res of Object.values<any>(json.Resources)) {
    const p = res.Properties ?? {};
    visit(p.PolicyDocument);
    visit(p.KeyPolicy);
    visit(p.AssumeRolePolicyDocument);
    for (const inline of p.Policies ?? []) visit(inline.PolicyDocument);
  }
  expect(actions.length).toBeGreaterThan(20);
  expect(actions.filter((a) => a.includes('*'))).toEqual([]);
});

test('the only managed policy is the API Gateway CloudWatch role\'s', () => {
  const managed = Object.entries<any>(json.Resources)
    .filter(([, x]) => x.Type === 'AWS::IAM::Role' && x.Properties.ManagedPolicyArns)
    .map(([, x]) => JSON.stringify(x.Properties.ManagedPolicyArns));
  expect(managed).toEqual([expect.stringContaining('AmazonAPIGatewayPushToCloudWatchLogs')]);
});
