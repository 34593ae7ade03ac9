/**
 * The seven Rust Lambdas (one binary each from the `skipline-aws` crate), each with its own role
 * and log group. Permissions are written out as explicit statements: no `grant*` helper that
 * brings wildcard actions, no AWSLambdaBasicExecutionRole.
 */
import * as path from 'path';
import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { RustFunction } from 'cargo-lambda-cdk';
import { Construct } from 'constructs';
import { Messaging } from './messaging';
import { INVOICE_PREFIX, Storage } from './storage';

/** Path of the Rust crate's manifest, relative to infra/ (where cdk runs). */
export const MANIFEST_PATH = path.join(__dirname, '..', '..', 'aws', 'Cargo.toml');

export type BinaryName =
  | 'put_item' | 'put_object' | 'get_item' | 'get_object' | 'notify_vendor' | 'clear_cart' | 'deliver_ticket';

/** Timeouts; the queue visibility timeouts are derived from the three consumers'. */
export const TIMEOUTS: Record<BinaryName, Duration> = {
  put_item: Duration.seconds(10),
  put_object: Duration.seconds(10),
  get_item: Duration.seconds(10),
  get_object: Duration.seconds(10),
  // No HTTP any more: a Query for the vendor's endpoints, a PutItem per ticket kept for
  // redelivery, and SendMessageBatch calls onto the deliveries queue. 10 s like the other
  // AWS-only functions; the notify-vendor queue's visibility follows (60 s).
  notify_vendor: Duration.seconds(10),
  clear_cart: Duration.seconds(10),
  // The webhook POSTs: one per message, each with a 5 s HTTP timeout, a batch of 10 run
  // concurrently, plus the DynamoDB reads and writes around each. The deliveries queue's
  // visibility is 6x this (180 s); a failed attempt sets its own visibility to the next delay.
  deliver_ticket: Duration.seconds(30),
};

export interface FunctionsProps {
  readonly storage: Storage;
  readonly messaging: Messaging;
  readonly architecture: lambda.Architecture;
  readonly logRetention?: logs.RetentionDays;
  /** The webhook retry schedule, as given (already validated by the stack); `deliver_ticket`'s DELIVERY_SCHEDULE. */
  readonly deliverySchedule: string;
  /** An endpoint failing every attempt for this long is disabled; `deliver_ticket`'s DISABLE_AFTER_SECONDS. */
  readonly disableAfterSeconds: number;
}

export class Functions extends Construct {
  readonly putItem: lambda.Function;
  readonly putObject: lambda.Function;
  readonly getItem: lambda.Function;
  readonly getObject: lambda.Function;
  readonly notifyVendor: lambda.Function;
  readonly clearCart: lambda.Function;
  readonly deliverTicket: lambda.Function;
  /** One role per function, by binary name. */
  readonly roles: Record<BinaryName, iam.Role> = {} as Record<BinaryName, iam.Role>;

  constructor(scope: Construct, id: string, private readonly props: FunctionsProps) {
    super(scope, id);
    const { storage, messaging } = props;
    const invoiceObjects = storage.invoiceBucket.arnForObjects(`${INVOICE_PREFIX}*`);

    this.putItem = this.rustFunction('PutItem', 'put_item', { CART_TABLE: storage.cartTable.tableName }, [
      new iam.PolicyStatement({ actions: ['dynamodb:PutItem'], resources: [storage.cartTable.tableArn] }),
    ]);
    this.putObject = this.rustFunction('PutObject', 'put_object', {
      INVOICE_BUCKET: storage.invoiceBucket.bucketName,
      INVOICE_INDEX_TABLE: storage.invoiceIndexTable.tableName,
    }, [
      // GetObject: a retried step reads back the invoice it already wrote (idempotent write).
      new iam.PolicyStatement({ actions: ['s3:GetObject', 's3:PutObject'], resources: [invoiceObjects] }),
      // The order and month index items written with each invoice.
      new iam.PolicyStatement({ actions: ['dynamodb:PutItem'], resources: [storage.invoiceIndexTable.tableArn] }),
    ]);
    // Objects are keyed by order id, so the object ARN cannot be listed in advance; the wildcard
    // covers only the invoices/ prefix of this one bucket.
    const invoiceIdsReason = 'Invoices are written and read as invoices/<orderid>... with order ids chosen at request time, so object ARNs cannot be enumerated. The wildcard is limited to the invoices/ prefix of this one bucket, and only s3:GetObject/s3:PutObject (no list, delete or ACL actions).';
    const bucketLogicalId = Stack.of(this).getLogicalId(storage.invoiceBucket.node.defaultChild as s3.CfnBucket);
    Validations.of(this.roles.put_object).acknowledge({ id: `AwsSolutions-IAM5[Resource::<${bucketLogicalId}.Arn>/${INVOICE_PREFIX}*]`, reason: invoiceIdsReason });
    this.getItem = this.rustFunction('GetItem', 'get_item', { CART_TABLE: storage.cartTable.tableName }, [
      new iam.PolicyStatement({ actions: ['dynamodb:GetItem'], resources: [storage.cartTable.tableArn] }),
    ]);
    this.getObject = this.rustFunction('GetObject', 'get_object', {
      INVOICE_BUCKET: storage.invoiceBucket.bucketName,
      INVOICE_INDEX_TABLE: storage.invoiceIndexTable.tableName,
    }, [
      new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [invoiceObjects] }),
      // GetItem: order id → invoice key. Query: an account's latest invoice in a month.
      new iam.PolicyStatement({ actions: ['dynamodb:GetItem', 'dynamodb:Query'], resources: [storage.invoiceIndexTable.tableArn] }),
    ]);
    Validations.of(this.roles.get_object).acknowledge({ id: `AwsSolutions-IAM5[Resource::<${bucketLogicalId}.Arn>/${INVOICE_PREFIX}*]`, reason: invoiceIdsReason });
    // Fans each completed order out: one message per vendor endpoint on the deliveries queue.
    this.notifyVendor = this.rustFunction('NotifyVendor', 'notify_vendor', {
      VENDOR_TABLE: storage.vendorTable.tableName,
      DELIVERY_TABLE: storage.deliveryTable.tableName,
      DELIVERY_QUEUE_URL: messaging.deliveries.queue.queueUrl,
    }, [
      // The vendor's endpoints.
      new iam.PolicyStatement({ actions: ['dynamodb:Query'], resources: [storage.vendorTable.tableArn] }),
      // Keeps each ticket, so that it can be redelivered later (PutItem), and finds it again when
      // a notify-vendor message comes back, so that an event is fanned out once (GetItem).
      new iam.PolicyStatement({ actions: ['dynamodb:GetItem', 'dynamodb:PutItem'], resources: [storage.deliveryTable.tableArn] }),
      // SendMessage (also what SendMessageBatch needs) onto the deliveries queue only.
      new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [messaging.deliveries.queue.queueArn] }),
      // The queue is SSE-KMS: a producer needs GenerateDataKey, and Decrypt to reuse the data key.
      new iam.PolicyStatement({ actions: ['kms:Decrypt', 'kms:GenerateDataKey'], resources: [messaging.queueKey.keyArn] }),
    ]);
    this.clearCart = this.rustFunction('ClearCart', 'clear_cart', { CART_TABLE: storage.cartTable.tableName }, [
      new iam.PolicyStatement({ actions: ['dynamodb:DeleteItem'], resources: [storage.cartTable.tableArn] }),
    ]);
    // One signed POST per delivery message; a failure hides the message until the next attempt
    // (ChangeMessageVisibility, from the event source's grant), and an endpoint failing for
    // DISABLE_AFTER_SECONDS is disabled and announced on the topic (EndpointDisabled).
    this.deliverTicket = this.rustFunction('DeliverTicket', 'deliver_ticket', {
      VENDOR_TABLE: storage.vendorTable.tableName,
      DELIVERY_TABLE: storage.deliveryTable.tableName,
      DELIVERY_QUEUE_URL: messaging.deliveries.queue.queueUrl,
      TOPIC_ARN: messaging.topic.topicArn,
      DELIVERY_SCHEDULE: props.deliverySchedule,
      DISABLE_AFTER_SECONDS: String(props.disableAfterSeconds),
    }, [
      // Reads the endpoint (URL, secret, enabled), writes its health.
      new iam.PolicyStatement({ actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'], resources: [storage.vendorTable.tableArn] }),
      // The delivery log: dedupe check (GetItem), attempt records and the ack (PutItem). Reading
      // the log back (Query) is the operator's, through the CLI, not this function's.
      new iam.PolicyStatement({ actions: ['dynamodb:GetItem', 'dynamodb:PutItem'], resources: [storage.deliveryTable.tableArn] }),
      // EndpointDisabled events, on the SSE-KMS topic.
      new iam.PolicyStatement({ actions: ['sns:Publish'], resources: [messaging.topic.topicArn] }),
      new iam.PolicyStatement({ actions: ['kms:Decrypt', 'kms:GenerateDataKey'], resources: [messaging.topicKey.keyArn] }),
    ]);

    // SQS consumers. The event source grants exactly the consume actions on its queue
    // (ReceiveMessage, DeleteMessage, ChangeMessageVisibility, GetQueueAttributes, GetQueueUrl)
    // and kms:Decrypt on the queue key.
    const eventSource = (queue: Messaging['notifyVendor']['queue']) => new SqsEventSource(queue, {
      batchSize: 10,
      maxBatchingWindow: Duration.seconds(1),
      reportBatchItemFailures: true,
    });
    this.notifyVendor.addEventSource(eventSource(messaging.notifyVendor.queue));
    this.clearCart.addEventSource(eventSource(messaging.clearCart.queue));
    this.deliverTicket.addEventSource(eventSource(messaging.deliveries.queue));
  }

  private rustFunction(
    id: string,
    binaryName: BinaryName,
    environment: Record<string, string>,
    statements: iam.PolicyStatement[],
  ): lambda.Function {
    const logGroup = new logs.LogGroup(this, `${id}Logs`, {
      retention: this.props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const role = new iam.Role(this, `${id}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Skip the Line ${binaryName} Lambda: least privilege`,
    });
    // Instead of AWSLambdaBasicExecutionRole (logs:CreateLogGroup/Stream/PutLogEvents on `*`):
    // write to this function's own log group only. The log group exists, so no CreateLogGroup.
    role.addToPolicy(new iam.PolicyStatement({
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      resources: [logGroup.logGroupArn],
    }));
    statements.forEach((s) => role.addToPolicy(s));
    this.roles[binaryName] = role;

    const fn = new RustFunction(this, id, {
      manifestPath: MANIFEST_PATH,
      binaryName,
      runtime: 'provided.al2023',
      architecture: this.props.architecture,
      memorySize: 256,
      timeout: TIMEOUTS[binaryName],
      role,
      logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      tracing: lambda.Tracing.ACTIVE,
      environment: { ...environment, RUST_LOG: 'info' },
      description: `Skip the Line: ${binaryName}`,
      // Cargo.toml's `lambda` profile: release, optimised for size (zips stay under 5 MB).
      bundling: { profile: 'lambda' },
    });
    // Active tracing adds xray:PutTraceSegments and xray:PutTelemetryRecords on `*` to the role.
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'Only xray:PutTraceSegments and xray:PutTelemetryRecords (added by Tracing.ACTIVE) use Resource `*`: X-Ray does not support resource-level permissions for these actions (AWS X-Ray IAM docs). Every other statement of this role is scoped to one table, queue, key, log group or bucket prefix.',
    });
    return fn;
  }
}
