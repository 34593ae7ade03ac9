/**
 * Stack `SkipTheLine`: API Gateway → Step Functions (put_item → put_object → SNS) → SQS → Lambdas,
 * and notify_vendor → deliveries queue → deliver_ticket for the vendor webhooks.
 * Composition only; each part lives in its own file.
 */
import * as fs from 'fs';
import * as path from 'path';
import { CfnOutput, RemovalPolicy, Stack, StackProps } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as cxapi from 'aws-cdk-lib/cx-api';
import { Construct } from 'constructs';
import { Api } from './api';
import { Functions, TIMEOUTS } from './functions';
import { Json } from './json-schema-draft4';
import { DEFAULT_DELIVERY_SCHEDULE, DEFAULT_DISABLE_AFTER_SECONDS, Messaging, parseDeliverySchedule } from './messaging';
import { OrderFlow, OrderFlowDefinition, orderFlowDefinition } from './order-flow';
import { Storage } from './storage';

export const PLACE_ORDER_SCHEMA_PATH = path.join(__dirname, '..', '..', 'events', 'schema', 'place-order.schema.json');

export interface SkipTheLineStackProps extends StackProps {
  /** Lambda architecture; ARM_64 unless `-c arch=x86_64`. */
  readonly architecture?: lambda.Architecture;
  /** For data-bearing resources (tables, buckets, keys). Default RETAIN. */
  readonly removalPolicy?: RemovalPolicy;
  /** The order-flow ASL file; else context `stateMachine` (`jsonpath` by default, or `jsonata`). */
  readonly stateMachine?: OrderFlowDefinition;
  /** Overrides the schema file (tests). */
  readonly placeOrderSchema?: Json;
  /**
   * The webhook retry schedule: comma-separated delays after the first attempt (`5s,5m,30m,2h`;
   * units ms, s, m, h). Else context `deliverySchedule`, else {@link DEFAULT_DELIVERY_SCHEDULE}.
   *
   * A synth-time parameter (`cdk deploy -c deliverySchedule=1m,10m,1h`), not a CloudFormation
   * `CfnParameter`: the deliveries queue's `maxReceiveCount` (one receive per attempt) and its
   * retention (the schedule plus jitter and a day) must agree with the schedule the Lambda
   * follows, and CloudFormation cannot derive them from a parameter string (no split-and-sum
   * intrinsic). Parsing it here lets synth reject a bad schedule before anything is deployed.
   */
  readonly deliverySchedule?: string;
  /**
   * An endpoint failing every attempt for this long (seconds) is disabled. Else context
   * `disableAfter` (seconds), else 86400 (24 h). A synth-time value like the schedule.
   */
  readonly disableAfterSeconds?: number;
}

/** The schedule from the prop, context `deliverySchedule` or the default; throws if it is invalid. */
export function resolveDeliverySchedule(scope: Construct, prop?: string): string {
  const context = scope.node.tryGetContext('deliverySchedule');
  const [text, source] = prop !== undefined
    ? [prop, 'prop deliverySchedule']
    : context !== undefined ? [String(context), 'context deliverySchedule'] : [DEFAULT_DELIVERY_SCHEDULE, 'default'];
  try {
    parseDeliverySchedule(text);
  } catch (e) {
    throw new Error(`${source}: ${(e as Error).message}`);
  }
  return text;
}

/** Seconds from the prop, context `disableAfter` or the default; a positive whole number. */
export function resolveDisableAfterSeconds(scope: Construct, prop?: number): number {
  const context = scope.node.tryGetContext('disableAfter');
  const [value, source] = prop !== undefined
    ? [prop, 'prop disableAfterSeconds']
    : context !== undefined ? [context, 'context disableAfter'] : [DEFAULT_DISABLE_AFTER_SECONDS, 'default'];
  const seconds = typeof value === 'number' ? value : /^\s*\d+\s*$/.test(String(value)) ? Number(value) : NaN;
  if (!Number.isSafeInteger(seconds) || seconds < 1) {
    throw new Error(`${source}: disable-after must be a whole number of seconds above 0, got ${JSON.stringify(value)}`);
  }
  return seconds;
}

export function loadPlaceOrderSchema(file = PLACE_ORDER_SCHEMA_PATH): Json {
  if (!fs.existsSync(file)) {
    throw new Error(`${file} not found: generate it from the Rust contract first (events crate)`);
  }
  return JSON.parse(fs.readFileSync(file, 'utf8')) as Json;
}

/** Output keys are part of the CLI contract (`skipline --stack-outputs`): keep them stable. */
export const OUTPUT_KEYS = [
  'ApiUrl', 'StateMachineArn', 'CartTableName', 'VendorTableName', 'DeliveryTableName',
  'InvoiceIndexTableName', 'InvoiceBucketName', 'TopicArn', 'NotifyVendorQueueUrl',
  'NotifyVendorDlqUrl', 'ClearCartQueueUrl', 'ClearCartDlqUrl', 'DeliveryQueueUrl', 'DeliveryDlqUrl', 'Region',
] as const;

export class SkipTheLineStack extends Stack {
  readonly storage: Storage;
  readonly messaging: Messaging;
  readonly functions: Functions;
  readonly orderFlow: OrderFlow;
  readonly api: Api;

  constructor(scope: Construct, id: string, props: SkipTheLineStackProps = {}) {
    super(scope, id, props);
    // SNS gets kms:Decrypt/GenerateDataKey on the queue key only for messages from our topic
    // (aws:SourceArn), whatever the app's cdk.json says.
    this.node.setContext(cxapi.SNS_SUBSCRIPTIONS_SQS_DECRYPTION_POLICY, true);
    // S3 server access logs are granted by a bucket policy for logging.s3.amazonaws.com (scoped
    // to the source bucket), not by the legacy LogDeliveryWrite ACL: ACLs stay disabled.
    this.node.setContext(cxapi.S3_SERVER_ACCESS_LOGS_USE_BUCKET_POLICY, true);

    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const deliverySchedule = resolveDeliverySchedule(this, props.deliverySchedule);
    const disableAfterSeconds = resolveDisableAfterSeconds(this, props.disableAfterSeconds);
    this.storage = new Storage(this, 'Storage', { removalPolicy });
    this.messaging = new Messaging(this, 'Messaging', {
      notifyVendorTimeout: TIMEOUTS.notify_vendor,
      clearCartTimeout: TIMEOUTS.clear_cart,
      deliverTicketTimeout: TIMEOUTS.deliver_ticket,
      deliverySchedule,
      removalPolicy,
    });
    this.functions = new Functions(this, 'Functions', {
      storage: this.storage,
      messaging: this.messaging,
      architecture: props.architecture ?? lambda.Architecture.ARM_64,
      deliverySchedule,
      disableAfterSeconds,
    });
    this.orderFlow = new OrderFlow(this, 'OrderFlow', {
      putItem: this.functions.putItem,
      putObject: this.functions.putObject,
      topic: this.messaging.topic,
      topicKey: this.messaging.topicKey,
      cartTable: this.storage.cartTable,
      definition: props.stateMachine ?? orderFlowDefinition(this.node.tryGetContext('stateMachine')),
    });
    this.api = new Api(this, 'Api', {
      stateMachine: this.orderFlow.stateMachine,
      getItem: this.functions.getItem,
      getObject: this.functions.getObject,
      placeOrderSchema: props.placeOrderSchema ?? loadPlaceOrderSchema(),
    });

    const outputs: Record<(typeof OUTPUT_KEYS)[number], [string, string]> = {
      ApiUrl: [this.api.restApi.url, 'Base URL of the REST API (prod stage, IAM/SigV4 auth)'],
      StateMachineArn: [this.orderFlow.stateMachine.stateMachineArn, 'Order-flow state machine'],
      CartTableName: [this.storage.cartTable.tableName, 'Cart table (accountid, vendorid)'],
      VendorTableName: [this.storage.vendorTable.tableName, 'Vendor webhook endpoints (vendorid, endpointid)'],
      DeliveryTableName: [this.storage.deliveryTable.tableName, 'Webhook delivery dedupe (eventid, endpointid)'],
      InvoiceIndexTableName: [this.storage.invoiceIndexTable.tableName, 'Invoice index: order id and account month to invoice key (pk, sk)'],
      InvoiceBucketName: [this.storage.invoiceBucket.bucketName, 'Invoice bucket (invoices/ prefix)'],
      TopicArn: [this.messaging.topic.topicArn, 'Order events topic'],
      NotifyVendorQueueUrl: [this.messaging.notifyVendor.queue.queueUrl, 'notify-vendor queue'],
      NotifyVendorDlqUrl: [this.messaging.notifyVendor.dlq.queueUrl, 'notify-vendor dead-letter queue'],
      ClearCartQueueUrl: [this.messaging.clearCart.queue.queueUrl, 'clear-cart queue'],
      ClearCartDlqUrl: [this.messaging.clearCart.dlq.queueUrl, 'clear-cart dead-letter queue'],
      DeliveryQueueUrl: [this.messaging.deliveries.queue.queueUrl, 'Webhook deliveries queue (one message per vendor endpoint, retried on the delivery schedule)'],
      DeliveryDlqUrl: [this.messaging.deliveries.dlq.queueUrl, 'Webhook deliveries dead-letter queue (deliveries that exhausted the schedule)'],
      Region: [this.region, 'Region of the stack'],
    };
    for (const key of OUTPUT_KEYS) {
      const [value, description] = outputs[key];
      new CfnOutput(this, key, { value, description }).overrideLogicalId(key);
    }
  }
}
