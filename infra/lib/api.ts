/**
 * The REST API: POST /order starts the order flow directly (no Lambda in between),
 * GET /orders/{orderid} describes it directly, and three reads go to Lambda proxies.
 * Every method is IAM-authorized (SigV4).
 */
import { Aws, Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { RemovalPolicy } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import * as t from './api-templates';
import { Json, toDraft4 } from './json-schema-draft4';

export interface ApiProps {
  readonly stateMachine: sfn.StateMachine;
  readonly getItem: lambda.IFunction;
  readonly getObject: lambda.IFunction;
  /** The PlaceOrder JSON Schema (any draft the converter accepts). */
  readonly placeOrderSchema: Json;
  readonly throttlingRateLimit?: number;
  readonly throttlingBurstLimit?: number;
  readonly logRetention?: logs.RetentionDays;
}

const JSON_TYPE = 'application/json';

export class Api extends Construct {
  readonly restApi: apigw.RestApi;
  readonly role: iam.Role;
  readonly accessLogGroup: logs.LogGroup;
  readonly placeOrderModel: apigw.Model;

  constructor(scope: Construct, id: string, props: ApiProps) {
    super(scope, id);
    this.accessLogGroup = new logs.LogGroup(this, 'AccessLogs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.restApi = new apigw.RestApi(this, 'Api', {
      description: 'Skip the Line: place and follow coffee pre-orders',
      cloudWatchRole: true,
      endpointTypes: [apigw.EndpointType.REGIONAL],
      defaultMethodOptions: { authorizationType: apigw.AuthorizationType.IAM },
      disableExecuteApiEndpoint: false,
      deployOptions: {
        stageName: 'prod',
        throttlingRateLimit: props.throttlingRateLimit ?? 50,
        throttlingBurstLimit: props.throttlingBurstLimit ?? 100,
        tracingEnabled: true,
        loggingLevel: apigw.MethodLoggingLevel.INFO,
        dataTraceEnabled: false, // execution logs would contain order bodies
        metricsEnabled: true,
        accessLogDestination: new apigw.LogGroupLogDestination(this.accessLogGroup),
        accessLogFormat: apigw.AccessLogFormat.jsonWithStandardFields(),
      },
    });

    // API Gateway's own errors (auth, validation, throttling, missing route) in our error shape.
    for (const [gid, type] of [['Default4xx', apigw.ResponseType.DEFAULT_4XX], ['Default5xx', apigw.ResponseType.DEFAULT_5XX]] as const) {
      this.restApi.addGatewayResponse(gid, {
        type,
        templates: { [JSON_TYPE]: t.GATEWAY_ERROR_TEMPLATE },
        responseHeaders: { 'Content-Type': "'application/json'" },
      });
    }

    const errorModel = this.restApi.addModel('ErrorModel', {
      contentType: JSON_TYPE,
      modelName: 'Error',
      schema: {
        schema: apigw.JsonSchemaVersion.DRAFT4,
        title: 'Error',
        type: apigw.JsonSchemaType.OBJECT,
        required: ['error'],
        properties: {
          error: {
            type: apigw.JsonSchemaType.OBJECT,
            required: ['code', 'message'],
            properties: { code: { type: apigw.JsonSchemaType.STRING }, message: { type: apigw.JsonSchemaType.STRING } },
          },
        },
      },
    });
    this.placeOrderModel = this.restApi.addModel('PlaceOrderModel', {
      contentType: JSON_TYPE,
      modelName: 'PlaceOrder',
      description: 'Body of POST /order; generated from the Rust contract (events/schema/place-order.schema.json).',
      schema: toDraft4(props.placeOrderSchema) as apigw.JsonSchema,
    });
    const bodyValidator = this.restApi.addRequestValidator('BodyAndParams', {
      validateRequestBody: true,
      validateRequestParameters: true,
    });
    const paramsValidator = this.restApi.addRequestValidator('ParamsOnly', {
      validateRequestBody: false,
      validateRequestParameters: true,
    });

    // The role API Gateway assumes for the two Step Functions integrations.
    this.role = new iam.Role(this, 'StatesRole', {
      assumedBy: new iam.ServicePrincipal('apigateway.amazonaws.com'),
      description: 'Skip the Line API: start and describe order-flow executions',
    });
    const executionArnPrefix = `arn:${Aws.PARTITION}:states:${Aws.REGION}:${Aws.ACCOUNT_ID}:execution:${props.stateMachine.stateMachineName}:`;
    this.role.addToPolicy(new iam.PolicyStatement({
      sid: 'StartOrderFlow',
      actions: ['states:StartExecution'],
      resources: [props.stateMachine.stateMachineArn],
    }));
    this.role.addToPolicy(new iam.PolicyStatement({
      sid: 'DescribeOrderFlowExecutions',
      actions: ['states:DescribeExecution'],
      resources: [`${executionArnPrefix}*`],
    }));
    Validations.of(this.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:<${this.stackLogicalId(props.stateMachine)}.Name>:*]`,
      reason: 'states:DescribeExecution on the executions of this one state machine. Execution names are order ids chosen at request time, so the ARN cannot be enumerated; the wildcard is limited to the execution-name segment of this state machine.',
    });

    const errorResponses = (codes: string[]): apigw.MethodResponse[] => codes.map((statusCode) => ({
      statusCode,
      responseModels: { [JSON_TYPE]: errorModel },
    }));

    // POST /order
    const order = this.restApi.root.addResource('order');
    const start = this.statesIntegration('StartExecution', t.startExecutionRequest(props.stateMachine.stateMachineArn), {
      okStatus: '202',
      ok: t.START_EXECUTION_ACCEPTED,
      clientError: t.START_EXECUTION_CLIENT_ERROR,
    });
    order.addMethod('POST', start, {
      requestValidator: bodyValidator,
      requestModels: { [JSON_TYPE]: this.placeOrderModel },
      requestParameters: { 'method.request.header.Idempotency-Key': false },
      methodResponses: [
        { statusCode: '202', responseParameters: { 'method.response.header.Location': true } },
        ...errorResponses(['400', '409', '500']),
      ],
    });

    // GET /order?accountid=&vendorid= → get_item
    order.addMethod('GET', new apigw.LambdaIntegration(props.getItem, { allowTestInvoke: false }), {
      requestValidator: paramsValidator,
      requestParameters: {
        'method.request.querystring.accountid': true,
        'method.request.querystring.vendorid': true,
      },
    });

    // GET /invoice?objectKey= → get_object
    this.restApi.root.addResource('invoice').addMethod('GET', new apigw.LambdaIntegration(props.getObject, { allowTestInvoke: false }), {
      requestValidator: paramsValidator,
      requestParameters: { 'method.request.querystring.objectKey': true },
    });

    // GET /orders/{orderid} → states:DescribeExecution; GET /orders/{orderid}/invoice → get_object
    const oneOrder = this.restApi.root.addResource('orders').addResource('{orderid}');
    const describe = this.statesIntegration('DescribeExecution', t.describeExecutionRequest(executionArnPrefix), {
      okStatus: '200',
      ok: t.DESCRIBE_EXECUTION_OK,
      clientError: t.DESCRIBE_EXECUTION_CLIENT_ERROR,
    });
    oneOrder.addMethod('GET', describe, {
      requestValidator: paramsValidator,
      requestParameters: { 'method.request.path.orderid': true },
      methodResponses: [{ statusCode: '200' }, ...errorResponses(['400', '404', '500'])],
    });
    oneOrder.addResource('invoice').addMethod('GET', new apigw.LambdaIntegration(props.getObject, { allowTestInvoke: false }), {
      requestValidator: paramsValidator,
      requestParameters: { 'method.request.path.orderid': true },
    });

    // cdk-nag findings that are decisions, not oversights.
    Validations.of(this.restApi).acknowledge(
      {
        id: 'AwsSolutions-APIG3',
        reason: 'AWS WAF is out of scope for this deployment: every method requires SigV4 (IAM) authorization, so anonymous traffic is rejected before integration, and the stage is throttled (rate and burst).',
      },
      {
        id: 'AwsSolutions-COG4',
        reason: 'The API is authorized with AWS IAM (SigV4) on every method, not Cognito: its callers are the skipline CLI and back-office tools holding IAM credentials, and there is no end-user sign-in in scope.',
      },
    );
    const cwRole = this.restApi.node.tryFindChild('CloudWatchRole');
    if (cwRole) {
      Validations.of(cwRole).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
        reason: 'Account-level role that API Gateway itself assumes to write execution and access logs (AWS::ApiGateway::Account). AmazonAPIGatewayPushToCloudWatchLogs is the AWS-maintained policy the API Gateway docs prescribe for it; it is trusted only by apigateway.amazonaws.com.',
      });
    }
  }

  /**
   * A direct Step Functions `action` as this.role: the request mapped by `request` only (no
   * passthrough); its success is `okStatus` rendered with `ok`, a 4xx from Step Functions a 400
   * rendered with `clientError`, and a 5xx a 500.
   */
  private statesIntegration(
    action: string,
    request: string,
    responses: { okStatus: string; ok: string; clientError: string },
  ): apigw.AwsIntegration {
    return new apigw.AwsIntegration({
      service: 'states',
      action,
      integrationHttpMethod: 'POST',
      options: {
        credentialsRole: this.role,
        passthroughBehavior: apigw.PassthroughBehavior.NEVER,
        requestTemplates: { [JSON_TYPE]: request },
        integrationResponses: [
          { statusCode: responses.okStatus, responseTemplates: { [JSON_TYPE]: responses.ok } },
          { selectionPattern: '4\\d{2}', statusCode: '400', responseTemplates: { [JSON_TYPE]: responses.clientError } },
          { selectionPattern: '5\\d{2}', statusCode: '500', responseTemplates: { [JSON_TYPE]: t.SERVER_ERROR } },
        ],
      },
    });
  }

  private stackLogicalId(sm: sfn.StateMachine): string {
    const stack = sm.stack;
    return stack.getLogicalId(sm.node.defaultChild as sfn.CfnStateMachine);
  }
}
