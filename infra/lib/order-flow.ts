/**
 * The order-flow state machine, loaded from an ASL file shared with the embedded runtime and
 * kept inline in the template: order_flow.asl.json (JSONPath, the default) or its JSONata twin
 * order_flow.jsonata.asl.json (`-c stateMachine=jsonata`).
 */
import * as fs from 'fs';
import * as path from 'path';
import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';

/** The two definitions of the same flow; both pass the contract suite on the embedded backend. */
export const ASL_PATHS = {
  jsonpath: path.join(__dirname, '..', 'statemachine', 'order_flow.asl.json'),
  jsonata: path.join(__dirname, '..', 'statemachine', 'order_flow.jsonata.asl.json'),
} as const;
export type OrderFlowDefinition = keyof typeof ASL_PATHS;

/** The `stateMachine` context value: `jsonpath` (default) or `jsonata`. */
export function orderFlowDefinition(value: unknown): OrderFlowDefinition {
  if (value === undefined || value === 'jsonpath') return 'jsonpath';
  if (value === 'jsonata') return 'jsonata';
  throw new Error(`context stateMachine must be jsonpath or jsonata, got ${JSON.stringify(value)}`);
}

/** Every `${Name}` placeholder in an ASL document, sorted and de-duplicated. */
export function aslPlaceholders(asl: string): string[] {
  return [...new Set([...asl.matchAll(/\$\{([A-Za-z0-9_]+)\}/g)].map((m) => m[1]))].sort();
}

export interface OrderFlowProps {
  readonly putItem: lambda.IFunction;
  readonly putObject: lambda.IFunction;
  readonly topic: sns.ITopic;
  readonly topicKey: kms.IKey;
  readonly cartTable: dynamodb.ITable;
  readonly logRetention?: logs.RetentionDays;
  /** Which ASL file to deploy. Default `jsonpath`. */
  readonly definition?: OrderFlowDefinition;
}

export class OrderFlow extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: OrderFlowProps) {
    super(scope, id);
    const aslPath = ASL_PATHS[props.definition ?? 'jsonpath'];
    const asl = fs.readFileSync(aslPath, 'utf8');
    const substitutions: Record<string, string> = {
      PutItemFunctionArn: props.putItem.functionArn,
      PutObjectFunctionArn: props.putObject.functionArn,
      TopicArn: props.topic.topicArn,
      CartTableName: props.cartTable.tableName,
    };
    const missing = aslPlaceholders(asl).filter((p) => !(p in substitutions));
    if (missing.length > 0) {
      throw new Error(`${aslPath} uses placeholders with no substitution: ${missing.join(', ')}`);
    }

    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('states.amazonaws.com'),
      description: 'Skip the Line order flow: invoke put_item/put_object, publish events, release a cart item',
    });
    // One statement per thing the flow does, each limited to its own resources.
    const statements: iam.PolicyStatementProps[] = [
      // The ASL names the unqualified function ARNs, so no `:*` version ARNs are needed.
      { sid: 'InvokeOrderFunctions', actions: ['lambda:InvokeFunction'], resources: [props.putItem.functionArn, props.putObject.functionArn] },
      { sid: 'PublishOrderEvents', actions: ['sns:Publish'], resources: [props.topic.topicArn] },
      // What a publisher to an SSE-KMS topic needs (Amazon SNS developer guide).
      { sid: 'EncryptOrderEvents', actions: ['kms:Decrypt', 'kms:GenerateDataKey'], resources: [props.topicKey.keyArn] },
      { sid: 'ReleaseCartItem', actions: ['dynamodb:DeleteItem'], resources: [props.cartTable.tableArn] },
    ];
    statements.forEach((statement) => this.role.addToPolicy(new iam.PolicyStatement(statement)));

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      definitionBody: sfn.DefinitionBody.fromString(asl),
      definitionSubstitutions: substitutions,
      stateMachineType: sfn.StateMachineType.STANDARD,
      role: this.role,
      tracingEnabled: true,
      logs: { destination: this.logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
    });

    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'Only the statements CDK adds for logging and tracing use Resource `*`: logs:CreateLogDelivery/GetLogDelivery/UpdateLogDelivery/DeleteLogDelivery/ListLogDeliveries/PutResourcePolicy/DescribeResourcePolicies/DescribeLogGroups and xray:PutTraceSegments/PutTelemetryRecords/GetSamplingRules/GetSamplingTargets. The Step Functions developer guide requires `*` for these (CloudWatch Logs vended log delivery and X-Ray do not support resource-level permissions). Lambda, SNS, KMS and DynamoDB statements are scoped to single ARNs.',
    });
  }
}
