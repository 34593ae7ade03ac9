import { Match } from 'aws-cdk-lib/assertions';
import { TIMEOUTS } from '../lib/functions';
import { DEFAULT_DELIVERY_SCHEDULE } from '../lib/messaging';
import { OUTPUT_KEYS } from '../lib/skipline-stack';
import { build, Built, X86 } from './harness';

const { stack, template } = build();
const json = template.toJSON();
const ref = (c: { node: { defaultChild?: unknown } }) => stack.getLogicalId(c.node.defaultChild as any);
const resources = (type: string) => Object.entries<any>(json.Resources).filter(([, r]) => r.Type === type);

describe('storage', () => {
  test.each([
    ['cart', () => stack.storage.cartTable, 'accountid', 'vendorid'],
    ['vendor endpoints', () => stack.storage.vendorTable, 'vendorid', 'endpointid'],
    ['deliveries', () => stack.storage.deliveryTable, 'eventid', 'endpointid'],
    ['invoice index', () => stack.storage.invoiceIndexTable, 'pk', 'sk'],
  ])('%s table: keys, on-demand, PITR, SSE', (_name, table, pk, sk) => {
    const props = json.Resources[ref(table())].Properties;
    expect(props.KeySchema).toEqual([{ AttributeName: pk, KeyType: 'HASH' }, { AttributeName: sk, KeyType: 'RANGE' }]);
    expect(props.AttributeDefinitions).toEqual([{ AttributeName: pk, AttributeType: 'S' }, { AttributeName: sk, AttributeType: 'S' }]);
    expect(props.BillingMode).toBe('PAY_PER_REQUEST');
    expect(props.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    expect(props.SSESpecification).toEqual({ SSEEnabled: true });
    expect(props.TableName).toBeUndefined();
    expect(json.Resources[ref(table())].DeletionPolicy).toBe('Retain');
  });

  test('deliveries expire by TTL on expiresAt', () => {
    expect(json.Resources[ref(stack.storage.deliveryTable)].Properties.TimeToLiveSpecification).toEqual({ AttributeName: 'expiresAt', Enabled: true });
  });

  test('exactly four tables; only deliveries has a TTL, no table has an index or a stream', () => {
    const tables = resources('AWS::DynamoDB::Table');
    expect(tables.map(([id]) => id).sort()).toEqual([
      stack.storage.cartTable, stack.storage.vendorTable, stack.storage.deliveryTable, stack.storage.invoiceIndexTable,
    ].map(ref).sort());
    expect(tables.filter(([, t]) => t.Properties.TimeToLiveSpecification).map(([id]) => id)).toEqual([ref(stack.storage.deliveryTable)]);
    for (const [, t] of tables) {
      expect(t.Properties.GlobalSecondaryIndexes).toBeUndefined();
      expect(t.Properties.LocalSecondaryIndexes).toBeUndefined();
      expect(t.Properties.StreamSpecification).toBeUndefined();
      expect(t.Properties.DeletionProtectionEnabled).toBe(true);
    }
  });

  test('invoice bucket: private, SSE, versioned, access-logged, TLS only, retained', () => {
    const bucket = json.Resources[ref(stack.storage.invoiceBucket)];
    expect(bucket.DeletionPolicy).toBe('Retain');
    expect(bucket.Properties).toMatchObject({
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      VersioningConfiguration: { Status: 'Enabled' },
      LoggingConfiguration: { DestinationBucketName: { Ref: ref(stack.storage.accessLogBucket) }, LogFilePrefix: 'invoice-bucket/' },
    });
    expect(bucket.Properties.BucketName).toBeUndefined();
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: ref(stack.storage.invoiceBucket) },
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
  });
});

describe('messaging', () => {
  test('topic: SSE-KMS with its own rotating key, TLS-only topic policy', () => {
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [ref(stack.messaging.topicKey), 'Arn'] } });
    expect(json.Resources[ref(stack.messaging.topic)].Properties.TopicName).toBeUndefined();
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Action: 'sns:Publish', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
    for (const key of [stack.messaging.topicKey, stack.messaging.queueKey]) {
      expect(json.Resources[ref(key)].Properties.EnableKeyRotation).toBe(true);
    }
  });

  test('queue key lets SNS encrypt into the queues, for this topic only', () => {
    const statements = json.Resources[ref(stack.messaging.queueKey)].Properties.KeyPolicy.Statement;
    expect(statements).toContainEqual({
      Effect: 'Allow', Principal: { Service: 'sns.amazonaws.com' }, Action: ['kms:Decrypt', 'kms:GenerateDataKey'], Resource: '*',
      Condition: { ArnEquals: { 'aws:SourceArn': { Ref: ref(stack.messaging.topic) } } },
    });
  });

  test.each([
    ['notify-vendor', () => stack.messaging.notifyVendor, 10],
    ['clear-cart', () => stack.messaging.clearCart, 10],
  ])('%s: KMS, DLQ 14 days, redrive 5, visibility 6x the consumer timeout, raw + filtered subscription', (_id, q, timeout) => {
    const { queue, dlq } = q();
    const qp = json.Resources[ref(queue)].Properties;
    const dp = json.Resources[ref(dlq)].Properties;
    const keyArn = { 'Fn::GetAtt': [ref(stack.messaging.queueKey), 'Arn'] };
    expect(qp.KmsMasterKeyId).toEqual(keyArn);
    expect(dp.KmsMasterKeyId).toEqual(keyArn);
    expect(dp.MessageRetentionPeriod).toBe(14 * 24 * 3600);
    expect(qp.RedrivePolicy).toEqual({ deadLetterTargetArn: { 'Fn::GetAtt': [ref(dlq), 'Arn'] }, maxReceiveCount: 5 });
    expect(qp.VisibilityTimeout).toBe(6 * timeout);
    expect(qp.MessageRetentionPeriod).toBe(4 * 24 * 3600);
    expect(qp.KmsDataKeyReusePeriodSeconds).toBe(300);
    expect(qp.QueueName).toBeUndefined();
    for (const target of [queue, dlq]) {
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: ref(target) }],
        PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
      });
    }
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'sqs',
      Endpoint: { 'Fn::GetAtt': [ref(queue), 'Arn'] },
      TopicArn: { Ref: ref(stack.messaging.topic) },
      RawMessageDelivery: true,
      FilterPolicy: { eventtype: ['OrderCompleted'] },
    });
  });

  test('deliveries: KMS, DLQ 14 days, redrive and retention from the default schedule, visibility 6x deliver_ticket, not subscribed', () => {
    const { queue, dlq } = stack.messaging.deliveries;
    const qp = json.Resources[ref(queue)].Properties;
    const dp = json.Resources[ref(dlq)].Properties;
    const keyArn = { 'Fn::GetAtt': [ref(stack.messaging.queueKey), 'Arn'] };
    expect(stack.getLogicalId(queue.node.defaultChild as any)).toMatch(/^Messagingdeliveries[0-9A-F]{8}$/);
    expect(dlq.node.id).toBe('deliveries-dlq');
    expect(qp.KmsMasterKeyId).toEqual(keyArn);
    expect(dp.KmsMasterKeyId).toEqual(keyArn);
    expect(qp.KmsDataKeyReusePeriodSeconds).toBe(300);
    expect(dp.MessageRetentionPeriod).toBe(14 * 24 * 3600);
    // Eight attempts: the first and one after each of the seven delays.
    expect(qp.RedrivePolicy).toEqual({ deadLetterTargetArn: { 'Fn::GetAtt': [ref(dlq), 'Arn'] }, maxReceiveCount: 8 });
    // 99,305 s of delays, *1.1 + 1 day = 195,635.5 s: below SQS's 4-day default, so 4 days.
    expect(qp.MessageRetentionPeriod).toBe(4 * 24 * 3600);
    expect(qp.VisibilityTimeout).toBe(6 * 30);
    expect(qp.VisibilityTimeout).toBe(6 * TIMEOUTS.deliver_ticket.toSeconds());
    expect(qp.QueueName).toBeUndefined();
    for (const target of [queue, dlq]) {
      const policies = resources('AWS::SQS::QueuePolicy').filter(([, p]) => JSON.stringify(p.Properties.Queues) === JSON.stringify([{ Ref: ref(target) }]));
      expect(policies).toHaveLength(1);
      // Only the TLS guard: nothing (SNS included) is allowed to send by resource policy.
      expect(policies[0][1].Properties.PolicyDocument.Statement).toEqual([
        expect.objectContaining({ Effect: 'Deny', Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      ]);
    }
    const subscribed = resources('AWS::SNS::Subscription').map(([, r]) => r.Properties.Endpoint);
    expect(subscribed).toHaveLength(2);
    expect(subscribed).not.toContainEqual({ 'Fn::GetAtt': [ref(queue), 'Arn'] });
    expect(subscribed).not.toContainEqual({ 'Fn::GetAtt': [ref(dlq), 'Arn'] });
  });

  test('event source mappings report partial batch failures', () => {
    const esms = resources('AWS::Lambda::EventSourceMapping').map(([, r]) => r.Properties);
    expect(esms).toHaveLength(3);
    const expected = [
      [stack.functions.notifyVendor, stack.messaging.notifyVendor.queue],
      [stack.functions.clearCart, stack.messaging.clearCart.queue],
      [stack.functions.deliverTicket, stack.messaging.deliveries.queue],
    ] as const;
    for (const [fn, queue] of expected) {
      expect(esms).toContainEqual({
        BatchSize: 10,
        MaximumBatchingWindowInSeconds: 1,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        EventSourceArn: { 'Fn::GetAtt': [ref(queue), 'Arn'] },
        FunctionName: { Ref: ref(fn) },
      });
    }
  });
});

describe('delivery schedule (synth-time: -c deliverySchedule / -c disableAfter)', () => {
  const deliveries = (built: Pick<Built, 'stack' | 'template'>) => {
    const j = built.template.toJSON();
    const q = j.Resources[built.stack.getLogicalId(built.stack.messaging.deliveries.queue.node.defaultChild as any)].Properties;
    const env = j.Resources[built.stack.getLogicalId(built.stack.functions.deliverTicket.node.defaultChild as any)].Properties.Environment.Variables;
    return { maxReceiveCount: q.RedrivePolicy.maxReceiveCount, retention: q.MessageRetentionPeriod, visibility: q.VisibilityTimeout, env };
  };

  test('the default is the Rust default', () => {
    expect(DEFAULT_DELIVERY_SCHEDULE).toBe('5s,5m,30m,2h,5h,10h,10h');
    expect(deliveries({ stack, template })).toMatchObject({
      maxReceiveCount: 8, retention: 345_600, env: { DELIVERY_SCHEDULE: DEFAULT_DELIVERY_SCHEDULE, DISABLE_AFTER_SECONDS: '86400' },
    });
  });

  test('-c deliverySchedule=1m,10m: three attempts, retention at its 4-day floor, the env follows', () => {
    expect(deliveries(build({}, { deliverySchedule: '1m,10m' }))).toEqual({
      maxReceiveCount: 3, retention: 345_600, visibility: 180,
      env: expect.objectContaining({ DELIVERY_SCHEDULE: '1m,10m', DISABLE_AFTER_SECONDS: '86400' }),
    });
  });

  test('a long schedule (prop) lengthens the retention: 6x12h+1s → ceil(259,201 * 1.1 + 86,400) s', () => {
    const schedule = [...Array(6).fill('12h'), '1s'].join(',');
    expect(deliveries(build({ deliverySchedule: schedule }))).toEqual({
      maxReceiveCount: 8, retention: 371_522, visibility: 180,
      env: expect.objectContaining({ DELIVERY_SCHEDULE: schedule }),
    });
  });

  test('the prop wins over the context; -c disableAfter sets DISABLE_AFTER_SECONDS', () => {
    const built = deliveries(build({ deliverySchedule: '10s' }, { deliverySchedule: '1m,10m', disableAfter: '3600' }));
    expect(built).toMatchObject({ maxReceiveCount: 2, env: { DELIVERY_SCHEDULE: '10s', DISABLE_AFTER_SECONDS: '3600' } });
    expect(deliveries(build({ disableAfterSeconds: 7200 })).env.DISABLE_AFTER_SECONDS).toBe('7200');
  });

  test.each([
    [{}, { deliverySchedule: '13h' }, /context deliverySchedule: retry schedule "13h": "13h" is more than 12h/],
    [{}, { deliverySchedule: '5s,soon' }, /context deliverySchedule: .*"soon" is not a delay/],
    [{ deliverySchedule: Array(30).fill('12h').join(',') }, {}, /prop deliverySchedule: .*14-day retention/],
    [{ deliverySchedule: '' }, {}, /prop deliverySchedule: .*not a delay/],
    [{}, { disableAfter: 'soon' }, /context disableAfter: .*whole number of seconds/],
    [{}, { disableAfter: '0' }, /context disableAfter: .*above 0/],
    [{ disableAfterSeconds: 1.5 }, {}, /prop disableAfterSeconds: .*whole number/],
  ])('a bad value fails synth: %j %j', (props, context, message) => {
    expect(() => build(props, context)).toThrow(message);
  });
});

describe('functions', () => {
  const fns = () => stack.functions;
  const env = (extra: Record<string, unknown>) => ({ Variables: { ...extra, RUST_LOG: 'info' } });
  const cases: [string, () => any, Record<string, unknown>][] = [
    ['put_item', () => fns().putItem, { CART_TABLE: { Ref: ref(stack.storage.cartTable) } }],
    ['put_object', () => fns().putObject, { INVOICE_BUCKET: { Ref: ref(stack.storage.invoiceBucket) }, INVOICE_INDEX_TABLE: { Ref: ref(stack.storage.invoiceIndexTable) } }],
    ['get_item', () => fns().getItem, { CART_TABLE: { Ref: ref(stack.storage.cartTable) } }],
    ['get_object', () => fns().getObject, { INVOICE_BUCKET: { Ref: ref(stack.storage.invoiceBucket) }, INVOICE_INDEX_TABLE: { Ref: ref(stack.storage.invoiceIndexTable) } }],
    ['notify_vendor', () => fns().notifyVendor, {
      VENDOR_TABLE: { Ref: ref(stack.storage.vendorTable) },
      DELIVERY_TABLE: { Ref: ref(stack.storage.deliveryTable) },
      DELIVERY_QUEUE_URL: { Ref: ref(stack.messaging.deliveries.queue) },
    }],
    ['clear_cart', () => fns().clearCart, { CART_TABLE: { Ref: ref(stack.storage.cartTable) } }],
    ['deliver_ticket', () => fns().deliverTicket, {
      VENDOR_TABLE: { Ref: ref(stack.storage.vendorTable) },
      DELIVERY_TABLE: { Ref: ref(stack.storage.deliveryTable) },
      DELIVERY_QUEUE_URL: { Ref: ref(stack.messaging.deliveries.queue) },
      TOPIC_ARN: { Ref: ref(stack.messaging.topic) },
      DELIVERY_SCHEDULE: '5s,5m,30m,2h,5h,10h,10h',
      DISABLE_AFTER_SECONDS: '86400',
    }],
  ];
  test.each(cases)('%s: al2023, arm64, JSON logs to its own group, active tracing, env', (_bin, fn, vars) => {
    const props = json.Resources[ref(fn())].Properties;
    expect(props).toMatchObject({
      Runtime: 'provided.al2023',
      Handler: 'bootstrap',
      Architectures: ['arm64'],
      MemorySize: 256,
      LoggingConfig: { LogFormat: 'JSON', LogGroup: { Ref: expect.any(String) } },
      TracingConfig: { Mode: 'Active' },
    });
    expect(props.Environment).toEqual(env(vars));
    expect(props.FunctionName).toBeUndefined();
    expect(props.Timeout).toBeGreaterThan(0);
  });

  test('timeouts: 10 s, except deliver_ticket (30 s: a batch of concurrent POSTs, 5 s each)', () => {
    const timeout = (fn: any) => json.Resources[ref(fn)].Properties.Timeout;
    expect(timeout(fns().deliverTicket)).toBe(30);
    for (const fn of [fns().putItem, fns().putObject, fns().getItem, fns().getObject, fns().notifyVendor, fns().clearCart]) {
      expect(timeout(fn)).toBe(10);
    }
  });

  test('INVOICE_INDEX_TABLE is set on put_object and get_object only', () => {
    const withIndex = resources('AWS::Lambda::Function')
      .filter(([, f]) => 'INVOICE_INDEX_TABLE' in (f.Properties.Environment?.Variables ?? {}))
      .map(([id]) => id);
    expect(withIndex.sort()).toEqual([ref(fns().putObject), ref(fns().getObject)].sort());
    expect(resources('AWS::Lambda::Function')).toHaveLength(cases.length);
  });

  test('-c arch=x86_64 switches every function', () => {
    const x86 = build(X86).template.toJSON();
    const archs = Object.values<any>(x86.Resources).filter((r) => r.Type === 'AWS::Lambda::Function').map((r) => r.Properties.Architectures);
    expect(archs).toEqual(Array(7).fill(['x86_64']));
  });
});

describe('state machine', () => {
  test('STANDARD, logs ALL with execution data, X-Ray', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'STANDARD',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: {
        Level: 'ALL',
        IncludeExecutionData: true,
        Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: { 'Fn::GetAtt': [ref(stack.orderFlow.logGroup), 'Arn'] } } }],
      },
    });
    expect(json.Resources[ref(stack.orderFlow.stateMachine)].Properties.StateMachineName).toBeUndefined();
  });
});

describe('api', () => {
  const methods = () => resources('AWS::ApiGateway::Method').map(([, r]) => r.Properties);

  test('five methods, all IAM-authorized and validated', () => {
    expect(methods()).toHaveLength(5);
    for (const m of methods()) {
      expect(m.AuthorizationType).toBe('AWS_IAM');
      expect(m.RequestValidatorId).toBeDefined();
    }
  });

  test('routes: POST /order → StartExecution, GET /orders/{orderid} → DescribeExecution, three Lambda proxies', () => {
    const uri = (m: any) => JSON.stringify(m.Integration.Uri);
    const byType = methods().map((m) => [m.HttpMethod, m.Integration.Type, uri(m).match(/states:action\/(\w+)|functions\/".*?"(\w+)"/)?.[1] ?? 'lambda']);
    expect(byType.filter(([, type]) => type === 'AWS').map(([h, , a]) => [h, a]).sort()).toEqual([['GET', 'DescribeExecution'], ['POST', 'StartExecution']]);
    expect(byType.filter(([, type]) => type === 'AWS_PROXY')).toHaveLength(3);
    const paths = resources('AWS::ApiGateway::Resource').map(([, r]) => r.Properties.PathPart).sort();
    expect(paths).toEqual(['invoice', 'invoice', 'order', 'orders', '{orderid}']);
  });

  test('POST /order validates the body against the converted contract model', () => {
    const post = methods().find((m) => m.HttpMethod === 'POST');
    expect(post.RequestModels).toEqual({ 'application/json': { Ref: expect.stringMatching(/PlaceOrderModel/) } });
    expect(post.RequestParameters).toEqual({ 'method.request.header.Idempotency-Key': false });
    expect(post.MethodResponses.map((r: any) => r.StatusCode)).toEqual(['202', '400', '409', '500']);
    const validator = json.Resources[post.RequestValidatorId.Ref].Properties;
    expect(validator).toMatchObject({ ValidateRequestBody: true, ValidateRequestParameters: true });
    const model = resources('AWS::ApiGateway::Model').map(([, r]) => r.Properties).find((m) => m.Name === 'PlaceOrder');
    expect(model.Schema.$schema).toBe('http://json-schema.org/draft-04/schema#');
    expect(JSON.stringify(model.Schema)).not.toContain('$defs');
  });

  test('GET methods require their query/path parameters', () => {
    const get = methods().filter((m) => m.HttpMethod === 'GET').map((m) => Object.keys(m.RequestParameters).sort());
    expect(get).toEqual(expect.arrayContaining([
      ['method.request.querystring.accountid', 'method.request.querystring.vendorid'],
      ['method.request.querystring.objectKey'],
      ['method.request.path.orderid'],
    ]));
  });

  test('stage: throttled, JSON access log, X-Ray, execution logging without bodies', () => {
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: 'prod',
      TracingEnabled: true,
      AccessLogSetting: { DestinationArn: { 'Fn::GetAtt': [ref(stack.api.accessLogGroup), 'Arn'] }, Format: Match.stringLikeRegexp('^\\{"requestId":"\\$context.requestId"') },
      MethodSettings: [Match.objectLike({ ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100, LoggingLevel: 'INFO', DataTraceEnabled: false })],
    });
    const format = resources('AWS::ApiGateway::Stage')[0][1].Properties.AccessLogSetting.Format;
    expect(() => JSON.parse(format)).not.toThrow();
    template.resourceCountIs('AWS::ApiGateway::Account', 1);
  });

  test('gateway responses for 4XX/5XX return {"error":{"code","message"}}', () => {
    for (const type of ['DEFAULT_4XX', 'DEFAULT_5XX']) {
      template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
        ResponseType: type,
        ResponseTemplates: { 'application/json': '{"error":{"code":"$context.error.responseType","message":$context.error.messageString}}' },
      });
    }
  });
});

describe('outputs', () => {
  test('stable keys for the CLI', () => {
    for (const key of OUTPUT_KEYS) expect(json.Outputs[key]).toBeDefined();
    // Besides ours, only the RestApi's own `ApiEndpoint<hash>` output (same URL as ApiUrl).
    expect(Object.keys(json.Outputs).filter((k) => !/^ApiEndpoint[0-9A-F]{8}$/.test(k)).sort()).toEqual([...OUTPUT_KEYS].sort());
    expect(Object.keys(json.Outputs)).toHaveLength(OUTPUT_KEYS.length + 1);
    expect([...OUTPUT_KEYS].sort()).toEqual([
      'ApiUrl', 'StateMachineArn', 'CartTableName', 'VendorTableName', 'DeliveryTableName', 'InvoiceIndexTableName',
      'InvoiceBucketName', 'TopicArn', 'NotifyVendorQueueUrl', 'NotifyVendorDlqUrl', 'ClearCartQueueUrl', 'ClearCartDlqUrl',
      'DeliveryQueueUrl', 'DeliveryDlqUrl', 'Region',
    ].sort());
    expect(json.Outputs.InvoiceIndexTableName.Value).toEqual({ Ref: ref(stack.storage.invoiceIndexTable) });
    for (const [key, table] of [
      ['CartTableName', stack.storage.cartTable], ['VendorTableName', stack.storage.vendorTable], ['DeliveryTableName', stack.storage.deliveryTable],
    ] as const) expect(json.Outputs[key].Value).toEqual({ Ref: ref(table) });
    expect(json.Outputs.Region.Value).toEqual({ Ref: 'AWS::Region' });
    expect(json.Outputs.StateMachineArn.Value).toEqual({ Ref: ref(stack.orderFlow.stateMachine) });
    expect(json.Outputs.NotifyVendorDlqUrl.Value).toEqual({ Ref: ref(stack.messaging.notifyVendor.dlq) });
    expect(json.Outputs.DeliveryQueueUrl.Value).toEqual({ Ref: ref(stack.messaging.deliveries.queue) });
    expect(json.Outputs.DeliveryDlqUrl.Value).toEqual({ Ref: ref(stack.messaging.deliveries.dlq) });
    for (const key of OUTPUT_KEYS) expect(json.Outputs[key].Description).toEqual(expect.any(String));
  });
});
