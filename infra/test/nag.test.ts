import { Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { build } from './harness';

describe('cdk-nag AwsSolutions', () => {
  const { app, stack } = build();
  const report = new AwsSolutionsChecks(app).validateScope(stack);

  test('no unacknowledged findings (errors or warnings)', () => {
    const summary = report.violations.map((v) => `${v.ruleName} @ ${v.violatingResources.map((r) => r.constructPath).join(', ')}`);
    expect(summary).toEqual([]);
    expect(report.success).toBe(true);
  });

  test('every acknowledgement names a rule and gives a reason a reviewer can check', () => {
    const acks: [string, string, string][] = [];
    for (const c of stack.node.findAll()) {
      for (const entry of c.node.metadata) {
        if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
        for (const [rule, reason] of Object.entries(entry.data as Record<string, string>)) acks.push([c.node.path, rule, reason]);
      }
    }
    expect(acks.length).toBeGreaterThan(0);
    for (const [, rule, reason] of acks) {
      expect(rule).toMatch(/AwsSolutions-[A-Z]+\d+/);
      expect(typeof reason).toBe('string');
      expect(reason.trim().length).toBeGreaterThan(60);
    }
    // The list is deliberate; a new acknowledgement must be added here on purpose.
    const rules = acks.map(([p, rule]) => `${p.replace(/^SkipTheLine\//, '')} ${rule.replace(/^annotation::/i, '').replace(/<[^>]+>/g, '<…>')}`).sort();
    expect(rules).toEqual([
      'Api/Api AwsSolutions-APIG3',
      'Api/Api AwsSolutions-COG4',
      'Api/Api/CloudWatchRole AwsSolutions-IAM4[Policy::arn:<…>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
      'Api/StatesRole AwsSolutions-IAM5[Resource::arn:<…>:states:<…>:<…>:execution:<…>:*]',
      'Functions/ClearCartRole AwsSolutions-IAM5[Resource::*]',
      'Functions/DeliverTicketRole AwsSolutions-IAM5[Resource::*]',
      'Functions/GetItemRole AwsSolutions-IAM5[Resource::*]',
      'Functions/GetObjectRole AwsSolutions-IAM5[Resource::*]',
      'Functions/GetObjectRole AwsSolutions-IAM5[Resource::<…>/invoices/*]',
      'Functions/NotifyVendorRole AwsSolutions-IAM5[Resource::*]',
      'Functions/PutItemRole AwsSolutions-IAM5[Resource::*]',
      'Functions/PutObjectRole AwsSolutions-IAM5[Resource::*]',
      'Functions/PutObjectRole AwsSolutions-IAM5[Resource::<…>/invoices/*]',
      'OrderFlow/Role AwsSolutions-IAM5[Resource::*]',
      'Storage/AccessLogBucket AwsSolutions-S1',
    ]);
  });

  test('the x86_64 variant is clean too', () => {
    const x86 = build({ architecture: require('aws-cdk-lib/aws-lambda').Architecture.X86_64 });
    expect(new AwsSolutionsChecks(x86.app).validateScope(x86.stack).violations).toEqual([]);
  });
});
