/**
 * The order-events topic and its two consumers' queues (each with a dead-letter queue), and the
 * webhook deliveries queue (with its own DLQ) that `notify_vendor` fills and `deliver_ticket`
 * drains, one message per vendor endpoint, retried on a schedule.
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

/**
 * The default retry schedule of a webhook delivery (Svix's): the delays after the first attempt,
 * so eight attempts over about 27.5 hours. Same as `DEFAULT_SCHEDULE` in handlers/src/schedule.rs.
 */
export const DEFAULT_DELIVERY_SCHEDULE = '5s,5m,30m,2h,5h,10h,10h';
/** An endpoint that fails every attempt for this long is disabled (handlers' DEFAULT_DISABLE_AFTER). */
export const DEFAULT_DISABLE_AFTER_SECONDS = 24 * 3600;

/** A parsed retry schedule and the deliveries queue settings it implies. */
export interface DeliverySchedule {
  /** The delays between attempts, in seconds (the first attempt is immediate). */
  readonly delaysSeconds: number[];
  /** The first attempt and one after each delay. */
  readonly attempts: number;
  /** The deliveries queue's redrive `maxReceiveCount`: one receive per attempt. */
  readonly maxReceiveCount: number;
  /** The deliveries queue's retention: the schedule with its 10% jitter, plus a day, within 4 to 14 days. */
  readonly retentionSeconds: number;
}

// The rules of handlers/src/schedule.rs, in integer nanoseconds (BigInt) so that sums and the
// 10% jitter are exact.
const NS_PER_SECOND = 1_000_000_000n;
const NS_PER_UNIT: Record<string, number> = { ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
/** SQS's cap on a message's visibility timeout, hence on one delay. */
const MAX_DELAY_NS = 12n * 3600n * NS_PER_SECOND;
const DAY_NS = 24n * 3600n * NS_PER_SECOND;
/** SQS's retention bounds used here: never below its 4-day default, at most its 14-day cap. */
const MIN_RETENTION_NS = 4n * DAY_NS;
const MAX_RETENTION_NS = 14n * DAY_NS;
/** Kept on the queue after the last attempt is due, so a late attempt still finds its message. */
const RETENTION_MARGIN_NS = DAY_NS;
const MAX_DELAYS = 99;

/** `90s` → `1m30s`; milliseconds only below a second or when not whole seconds (as in Rust). */
function formatDelay(ns: bigint): string {
  const ms = ns / 1_000_000n;
  if (ms < 1000n || ms % 1000n !== 0n) return `${ms}ms`;
  const secs = ns / NS_PER_SECOND;
  const parts: [bigint, string][] = [[secs / 3600n, 'h'], [(secs / 60n) % 60n, 'm'], [secs % 60n, 's']];
  return parts.filter(([n]) => n > 0n).map(([n, unit]) => `${n}${unit}`).join('');
}

/** One delay (`500ms`, `5s`, `5m`, `2h`; a bare number is seconds), in nanoseconds. */
function parseDelay(part: string): bigint {
  const i = part.search(/[^0-9.]/);
  const [number, unit] = i < 0 ? [part, 's'] : [part.slice(0, i), part.slice(i)];
  if (!/^(\d+\.?\d*|\.\d+)$/.test(number)) {
    throw new Error(`${JSON.stringify(part)} is not a delay like 500ms, 5s, 5m or 2h`);
  }
  const perUnit = Object.hasOwn(NS_PER_UNIT, unit) ? NS_PER_UNIT[unit] : undefined;
  if (perUnit === undefined) {
    throw new Error(`unknown unit ${JSON.stringify(unit)} in ${JSON.stringify(part)}; use ms, s, m or h`);
  }
  const ns = Number(number) * perUnit;
  if (!Number.isFinite(ns) || ns > Number(MAX_DELAY_NS)) {
    throw new Error(`${JSON.stringify(part)} is more than 12h (SQS's visibility cap)`);
  }
  return BigInt(Math.round(ns));
}

/**
 * Parses a retry schedule, comma-separated delays after the first attempt (`5s,5m,30m,2h`), with
 * the rules of the Rust `Schedule::parse`: 1 to 99 delays, each above 0 and at most 12h (a
 * retry is a `ChangeMessageVisibility`), and all of them, stretched by the 10% jitter, plus a
 * day's margin, within SQS's 14-day retention. Throws an Error that names the bad part.
 */
export function parseDeliverySchedule(text: string): DeliverySchedule {
  const fail = (reason: string): never => {
    throw new Error(`retry schedule ${JSON.stringify(text)}: ${reason}`);
  };
  const delays = String(text).split(',').map((part) => {
    try {
      return parseDelay(part.trim());
    } catch (e) {
      return fail((e as Error).message);
    }
  });
  if (delays.length < 1 || delays.length > MAX_DELAYS) fail(`give 1 to ${MAX_DELAYS} delays, not ${delays.length}`);
  const bad = delays.find((d) => d <= 0n || d > MAX_DELAY_NS);
  if (bad !== undefined) {
    fail(`each delay must be above 0 and at most 12h (SQS's visibility cap), not ${formatDelay(bad)}`);
  }
  const total = delays.reduce((a, b) => a + b, 0n);
  const needed = (total * 11n) / 10n + RETENTION_MARGIN_NS;
  if (needed > MAX_RETENTION_NS) {
    fail(`it spans ${formatDelay(total)}; with jitter and a day's margin it must fit SQS's 14-day retention`);
  }
  const retention = needed < MIN_RETENTION_NS ? MIN_RETENTION_NS : needed;
  const attempts = delays.length + 1;
  return {
    delaysSeconds: delays.map((d) => Number(d) / 1e9),
    attempts,
    maxReceiveCount: attempts,
    // Whole seconds, rounded up so the queue keeps messages at least as long as the schedule needs.
    retentionSeconds: Number((retention + NS_PER_SECOND - 1n) / NS_PER_SECOND),
  };
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
  /** Timeout of the Lambda that consumes `deliveries` (`deliver_ticket`); the queue's visibility is 6 times it. */
  readonly deliverTicketTimeout: Duration;
  /** The webhook retry schedule (see {@link parseDeliverySchedule}); sets the deliveries queue's redrive and retention. */
  readonly deliverySchedule: string;
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
  /** One message per (order, vendor endpoint); not subscribed to the topic. */
  readonly deliveries: ConsumerQueue;

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
    this.deliveries = this.deliveryQueue('deliveries', props.deliverTicketTimeout, parseDeliverySchedule(props.deliverySchedule));
  }

  private deadLetterQueue(id: string): sqs.Queue {
    return new sqs.Queue(this, `${id}-dlq`, {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: this.queueKey,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
  }

  /**
   * An encrypted consumer queue with its dead-letter queue, whose messages stay hidden for
   * VISIBILITY_FACTOR times the consumer's timeout.
   */
  private redrivenQueue(
    id: string,
    consumerTimeout: Duration,
    { retentionPeriod, maxReceiveCount }: { retentionPeriod: Duration; maxReceiveCount: number },
  ): ConsumerQueue {
    const dlq = this.deadLetterQueue(id);
    const queue = new sqs.Queue(this, id, {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: this.queueKey,
      // Data keys are reused for 5 minutes to keep KMS calls (and cost) low.
      dataKeyReuse: Duration.minutes(5),
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(consumerTimeout.toSeconds() * VISIBILITY_FACTOR),
      retentionPeriod,
      deadLetterQueue: { queue: dlq, maxReceiveCount },
    });
    return { queue, dlq };
  }

  /** A topic consumer's queue: subscribed to completed orders, redriven after MAX_RECEIVE_COUNT receives. */
  private consumerQueue(id: string, consumerTimeout: Duration): ConsumerQueue {
    const consumer = this.redrivenQueue(id, consumerTimeout, {
      retentionPeriod: Duration.days(4),
      maxReceiveCount: MAX_RECEIVE_COUNT,
    });
    // Adds the queue policy (sns:SendMessage from this topic only) and, because the
    // restrictSqsDescryption flag is on, a queue-key statement for SNS limited to this topic.
    this.topic.addSubscription(new subs.SqsSubscription(consumer.queue, {
      rawMessageDelivery: true,
      filterPolicy: {
        eventtype: sns.SubscriptionFilter.stringFilter({ allowlist: ORDER_COMPLETED_FILTER.eventtype }),
      },
    }));
    return consumer;
  }

  /**
   * The deliveries queue: filled by `notify_vendor` (SendMessage), not by the topic. A failed
   * attempt hides its message for the schedule's next delay (ChangeMessageVisibility), so every
   * receive is one attempt: maxReceiveCount is the number of attempts, and the retention covers
   * the whole schedule (with jitter) plus a day.
   */
  private deliveryQueue(id: string, consumerTimeout: Duration, schedule: DeliverySchedule): ConsumerQueue {
    return this.redrivenQueue(id, consumerTimeout, {
      retentionPeriod: Duration.seconds(schedule.retentionSeconds),
      maxReceiveCount: schedule.maxReceiveCount,
    });
  }
}
