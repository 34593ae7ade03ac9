/** Builds the stack the way bin/ does (cdk.json context), with bundling skipped. */
import * as fs from 'fs';
import * as path from 'path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SkipTheLineStack, SkipTheLineStackProps } from '../lib/skipline-stack';

const cdkJson = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'cdk.json'), 'utf8'));

export interface Built {
  app: App;
  stack: SkipTheLineStack;
  template: Template;
}

export function build(props: SkipTheLineStackProps = {}, context: Record<string, string> = {}): Built {
  const app = new App({ context: { ...cdkJson.context, ...context, 'aws:cdk:bundling-stacks': [] } });
  const stack = new SkipTheLineStack(app, 'SkipTheLine', props);
  return { app, stack, template: Template.fromStack(stack) };
}

export const X86 = { architecture: lambda.Architecture.X86_64 };

type Statement = Record<string, unknown>;

/** A statement in a comparable shape: Action and Resource as sorted arrays. */
export function normalizeStatement(s: Statement): Statement {
  const arr = (v: unknown) => (v === undefined ? undefined : (Array.isArray(v) ? v : [v]));
  const sortJson = (xs: unknown[] | undefined) => xs?.map((x) => JSON.stringify(x)).sort().map((x) => JSON.parse(x));
  const out: Statement = {
    Effect: s.Effect ?? 'Allow',
    Action: sortJson(arr(s.Action)),
    Resource: sortJson(arr(s.Resource)),
  };
  if (s.Condition) out.Condition = s.Condition;
  return out;
}

export function sortStatements(statements: Statement[]): Statement[] {
  return statements.map(normalizeStatement).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}

/** Every IAM statement attached to a role (inline + AWS::IAM::Policy), plus its managed policies. */
export function roleStatements(template: Template, roleLogicalId: string): { statements: Statement[]; managed: unknown[] } {
  const json = template.toJSON();
  const role = json.Resources[roleLogicalId];
  if (!role || role.Type !== 'AWS::IAM::Role') throw new Error(`${roleLogicalId} is not a role`);
  const statements: Statement[] = [];
  for (const p of role.Properties.Policies ?? []) statements.push(...p.PolicyDocument.Statement);
  for (const res of Object.values<any>(json.Resources)) {
    if (res.Type !== 'AWS::IAM::Policy') continue;
    if ((res.Properties.Roles ?? []).some((r: any) => r.Ref === roleLogicalId)) {
      statements.push(...res.Properties.PolicyDocument.Statement);
    }
  }
  return { statements: sortStatements(statements), managed: role.Properties.ManagedPolicyArns ?? [] };
}
