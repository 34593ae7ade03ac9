/**
 * Where state lives: the cart, vendor-endpoints, deliveries and invoice-index tables, and the
 * invoice bucket (with its access-log bucket). No physical names: CloudFormation generates them
 * and the stack outputs publish them.
 */
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

export interface StorageProps {
  /** What happens to data-bearing resources when they leave the stack. Default RETAIN. */
  readonly removalPolicy?: RemovalPolicy;
}

/** Prefix under which invoices are written; IAM policies are scoped to it. */
export const INVOICE_PREFIX = 'invoices/';

export class Storage extends Construct {
  /** PK accountid, SK vendorid: at most one active order per customer and vendor. */
  readonly cartTable: dynamodb.Table;
  /** PK vendorid, SK endpointid: webhook URL and signing secret per vendor endpoint. */
  readonly vendorTable: dynamodb.Table;
  /** PK eventid, SK endpointid: webhook dedupe records, expired by TTL on `expiresAt`. */
  readonly deliveryTable: dynamodb.Table;
  /**
   * PK pk, SK sk: where each invoice is, without listing the bucket. Two item shapes, each with
   * an `invoiceKey` string attribute: `pk = "order#{orderid}", sk = "invoice"` (order id →
   * invoice key) and `pk = "month#{accountid}#{YYYY-MM}", sk = "{rank}"` (one item per invoice
   * in that month; the highest sk is the latest). Written by put_object, read by get_object.
   */
  readonly invoiceIndexTable: dynamodb.Table;
  readonly invoiceBucket: s3.Bucket;
  readonly accessLogBucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: StorageProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;

    // Encryption: the AWS managed DynamoDB key (aws/dynamodb). Items are encrypted
    // with KMS, key use is logged in CloudTrail, and callers need no kms:* permission, which
    // keeps every function policy to the table actions it uses. Access control is IAM on the
    // table ARN; a customer managed key would only add a second place to maintain it.
    const table = (tid: string, pk: string, sk: string, ttl?: string) => new dynamodb.Table(this, tid, {
      partitionKey: { name: pk, type: dynamodb.AttributeType.STRING },
      sortKey: { name: sk, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      deletionProtection: removalPolicy === RemovalPolicy.RETAIN,
      timeToLiveAttribute: ttl,
      removalPolicy,
    });
    this.cartTable = table('CartTable', 'accountid', 'vendorid');
    this.vendorTable = table('VendorEndpointsTable', 'vendorid', 'endpointid');
    this.deliveryTable = table('DeliveriesTable', 'eventid', 'endpointid', 'expiresAt');
    this.invoiceIndexTable = table('InvoiceIndexTable', 'pk', 'sk');

    // Server access logs for the invoice bucket. Log delivery cannot write to SSE-KMS targets,
    // so this bucket uses SSE-S3.
    this.accessLogBucket = new s3.Bucket(this, 'AccessLogBucket', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ expiration: Duration.days(365) }],
      removalPolicy,
    });
    Validations.of(this.accessLogBucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'This is the access-log target bucket for the invoice bucket; logging it to itself would loop and logging it elsewhere only moves the problem. Public access is blocked and TLS is enforced.',
    });

    // Invoices: one object per order under invoices/. SSE-S3 (AES-256): the objects hold what the
    // customer already sent, access is IAM-scoped to invoices/*, and SSE-S3 needs no key grants.
    this.invoiceBucket = new s3.Bucket(this, 'InvoiceBucket', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      versioned: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: this.accessLogBucket,
      serverAccessLogsPrefix: 'invoice-bucket/',
      lifecycleRules: [{ noncurrentVersionExpiration: Duration.days(90) }],
      removalPolicy,
    });
  }
}
