#!/usr/bin/env node
/**
 * The CDK app: one `SkipTheLine` stack, checked by cdk-nag's AWS Solutions pack at synth.
 *
 * Context:
 *   -c stackName=NAME      stack name (default SkipTheLine)
 *   -c arch=x86_64         build and run the Lambdas on x86_64 (default arm64)
 *   -c stateMachine=jsonata  deploy order_flow.jsonata.asl.json, the flow's JSONata twin
 *                          (default jsonpath: order_flow.asl.json)
 *   -c deliverySchedule=5s,5m,30m,2h  the webhook retry schedule (delays after the first attempt;
 *                          default 5s,5m,30m,2h,5h,10h,10h); sets the deliveries queue's
 *                          maxReceiveCount and retention too, so it is validated at synth
 *   -c disableAfter=86400  disable an endpoint that failed every attempt for this many seconds
 *   -c skipBundling=true   do not run `cargo lambda` (offline synth, CI); the template is the same
 */
import { App, Validations } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { AwsSolutionsChecks } from 'cdk-nag';
import { SkipTheLineStack } from '../lib/skipline-stack';

function architecture(value: unknown): lambda.Architecture {
  if (value === undefined || value === 'arm64' || value === 'arm_64') return lambda.Architecture.ARM_64;
  if (value === 'x86_64' || value === 'x86-64') return lambda.Architecture.X86_64;
  throw new Error(`context arch must be arm64 or x86_64, got ${JSON.stringify(value)}`);
}

const app = new App();
// The CLI passes its own `aws:cdk:bundling-stacks` (all stacks); override it before any stack exists.
if (String(app.node.tryGetContext('skipBundling')) === 'true') {
  app.node.setContext('aws:cdk:bundling-stacks', []);
}
const stackName = String(app.node.tryGetContext('stackName') ?? 'SkipTheLine');

new SkipTheLineStack(app, 'SkipTheLine', {
  stackName,
  architecture: architecture(app.node.tryGetContext('arch')),
  // Environment-agnostic unless the CLI knows the account/region: synth needs no credentials.
  env: process.env.CDK_DEFAULT_ACCOUNT && process.env.CDK_DEFAULT_REGION
    ? { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION }
    : undefined,
  description: 'Skip the Line: Rust serverless coffee pre-ordering (API Gateway, Step Functions, DynamoDB, S3, SNS, SQS, Lambda)',
});

Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
