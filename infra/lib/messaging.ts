/**
 * The order-events topic and its two consumers' queues (each with a dead-letter queue).
 *
 * Two customer managed keys, because SNS must encrypt into the queues: the queue key's policy
 * names the SNS service with `aws:SourceArn` = this topic, and the topic itself is encrypted
 * with its own key. One shared key would make the key policy depend on the topic that depends
 * on the key (a cycle).
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subs from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/** Only completed orders reach the vendor and the cart cleaner (same as the embedded defaults). */
export const ORDER_COMPLETED_FILTER = { eventtype: ['OrderCompleted'] };

/** Key administration, spelled out instead of `kms:*`. */
const KEY_ADMIN_ACTIONS = [
  'kms:CancelKeyDeletion', 'kms:CreateAlias', 'kms:DeleteAlias', 'kms:DescribeKey',
  'kms:DisableKey', 'kms:DisableKeyRotation', 'kms:EnableKey', 'kms:EnableKeyRotation',
  'kms:GetKeyPolicy', 'kms:GetKeyRotationStatus', 'kms:ListAliases', 'kms:ListGrants',
  'kms:ListKeyPolicies', 'kms:ListKeyRotations', 'kms:ListResourceTags', 'kms:PutKeyPolicy',
  'kms:RevokeGrant', 'kms:RotateKeyOnDemand', 'kms:ScheduleKeyDeletion', 'kms:TagResource',
  'kms:UntagResource', 'kms:UpdateAlias', 'kms:UpdateKeyDescription',
];
/** Data-key use delegated to IAM policies in this account (the functions and the state machine). */
const KEY_USE_ACTIONS = ['kms:Decrypt', 'kms:GenerateDataKey'];

/**
 * A customer managed key whose policy lets this account administer it and lets IAM policies in
 * this account grant its use. Unlike the CDK default, no `kms:*`.
 */
export function accountKey(scope: Construct, id: string, description: string, removalPolicy: RemovalPolicy): kms.Key {
  const account = new iam.AccountRootPrincipal();
  return new kms.Key(scope, id, {
    description,
    enableKeyRotation: true,
    removalPolicy,
    policy: new iam.PolicyDocument({
      statements: [
        new iam.PolicyStatement({ sid: 'KeyAdministration', principals: [account], actions: KEY_ADMIN_ACTIONS, resources: ['*'] }),
        new iam.PolicyStatement({ sid: 'KeyUseThroughIamPolicies', principals: [account], actions: KEY_USE_ACTIONS, resources: ['*'] }),
      ],
    }),
  });
}

export interface ConsumerQueue {
  readonly queue: sqs.Queue;
  readonly dlq: sqs.Queue;
}

export interface MessagingProps {
  /** Timeout of the Lambda that consumes `notify-vendor`; the queue's visibility is 6 times it. */
  readonly notifyVendorTimeout: Duration;
  /** Timeout of the Lambda that consumes `clear-cart`. */
  readonly clearCartTimeout: Duration;
  readonly removalPolicy?: RemovalPolicy;
}

/** AWS guidance for Lambda event sources: visibility at least 6x the function timeout. */
export const VISIBILITY_FACTOR = 6;
export const MAX_RECEIVE_COUNT = 5;

export class Messaging extends Construct {
  readonly topicKey: kms.Key;
  readonly queueKey: kms.Key;
  readonly topic: sns.Topic;
  readonly notifyVendor: ConsumerQueue;
  readonly clearCart: ConsumerQueue;

  constructor(scope: Construct, id: string, props: MessagingProps) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;

    this.topicKey = accountKey(this, 'TopicKey', 'Skip the Line: SSE for the order-events SNS topic', removalPolicy);
    this.queueKey = accountKey(this, 'QueueKey', 'Skip the Line: SSE for the order-event SQS queues and their DLQs', removalPolicy);

    this.topic = new sns.Topic(this, 'OrderEvents', {
      displayName: 'Skip the Line order events',
      masterKey: this.topicKey,
      enforceSSL: true,
    });

    this.notifyVendor = this.consumerQueue('notify-vendor', props.notifyVendorTimeout);
    this.clearCart = this.consumerQueue('clear-cart', props.clearCartTimeout);
  }

  private consumerQueue(id: string, consumerTimeout: Duration): ConsumerQueue {
    const dlq = new sqs.Queue(this, `${id}-dlq`, {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: this.queueKey,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    const queue = new sqs.Queue(this, id, {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: this.queueKey,
      // Data keys are reused for 5 minutes to keep KMS calls (and cost) low.
      dataKeyReuse: Duration.minutes(5),
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(consumerTimeout.toSeconds() * VISIBILITY_FACTOR),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: dlq, maxReceiveCount: MAX_RECEIVE_COUNT },
    });
    // Adds the queue policy (sns:SendMessage from this topic only) and, because the
    // restrictSqsDescryption flag is on, a queue-key statement for SNS limited to this topic.
    this.topic.addSubscription(new subs.SqsSubscription(queue, {
      rawMessageDelivery: true,
      filterPolicy: {
        eventtype: sns.SubscriptionFilter.stringFilter({ allowlist: ORDER_COMPLETED_FILTER.eventtype }),
      },
    }));
    return { queue, dlq };
  }
}
