import * as fs from 'fs';
import { ASL_PATHS, aslPlaceholders, orderFlowDefinition } from '../lib/order-flow';
import { build } from './harness';

const SAMPLE: Record<string, string> = {
  PutItemFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:put-item',
  PutObjectFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:put-object',
  TopicArn: 'arn:aws:sns:eu-west-1:123456789012:order-events',
  CartTableName: 'cart-table',
};

/** Substitute `${Name}` in a string the way definitionSubstitutions does. */
const substitute = (text: string, values: Record<string, string>) => text.replace(/\$\{([A-Za-z0-9_]+)\}/g, (m, k) => values[k] ?? m);

const DEFINITIONS = Object.keys(ASL_PATHS) as (keyof typeof ASL_PATHS)[];

test.each(DEFINITIONS)('the %s ASL file uses exactly the four substitutions the stack provides', (definition) => {
  expect(aslPlaceholders(fs.readFileSync(ASL_PATHS[definition], 'utf8'))).toEqual(Object.keys(SAMPLE).sort());
});

/** The template's state machine definition with the sample values substituted, as JSON. */
function deployedDefinition(context: Record<string, string>): unknown {
  const { stack, template } = build({}, context);
  const sm = template.toJSON().Resources[stack.getLogicalId(stack.orderFlow.stateMachine.node.defaultChild as any)].Properties;
  const id = (c: any) => stack.getLogicalId(c.node.defaultChild);
  // Map each CloudFormation token to the sample value of the placeholder it stands for.
  const tokens = new Map<string, string>([
    [JSON.stringify({ 'Fn::GetAtt': [id(stack.functions.putItem), 'Arn'] }), SAMPLE.PutItemFunctionArn],
    [JSON.stringify({ 'Fn::GetAtt': [id(stack.functions.putObject), 'Arn'] }), SAMPLE.PutObjectFunctionArn],
    [JSON.stringify({ Ref: id(stack.messaging.topic) }), SAMPLE.TopicArn],
    [JSON.stringify({ Ref: id(stack.storage.cartTable) }), SAMPLE.CartTableName],
  ]);
  expect(sm.DefinitionS3Location).toBeUndefined();
  const subs = sm.DefinitionSubstitutions as Record<string, unknown>;
  expect(Object.keys(subs).sort()).toEqual(Object.keys(SAMPLE).sort());
  const values = Object.fromEntries(Object.entries(subs).map(([k, v]) => {
    const sample = tokens.get(JSON.stringify(v));
    if (sample !== SAMPLE[k]) throw new Error(`substitution ${k} is ${JSON.stringify(v)}`);
    return [k, sample];
  }));
  const definition = typeof sm.DefinitionString === 'string'
    ? sm.DefinitionString
    : (sm.DefinitionString['Fn::Join'][1] as unknown[]).map((part) => (typeof part === 'string' ? part : tokens.get(JSON.stringify(part)))).join('');
  const fromTemplate = JSON.parse(substitute(definition, values));
  expect(JSON.stringify(fromTemplate)).not.toMatch(/\$\{/);
  return fromTemplate;
}

const fromFile = (definition: keyof typeof ASL_PATHS) => JSON.parse(substitute(fs.readFileSync(ASL_PATHS[definition], 'utf8'), SAMPLE));

test('the template\'s DefinitionString is the JSONPath ASL file by default, inline, with the same substitutions', () => {
  expect(deployedDefinition({})).toEqual(fromFile('jsonpath'));
  expect(deployedDefinition({ stateMachine: 'jsonpath' })).toEqual(fromFile('jsonpath'));
});

test('-c stateMachine=jsonata deploys the JSONata twin', () => {
  const deployed = deployedDefinition({ stateMachine: 'jsonata' }) as { QueryLanguage?: string };
  expect(deployed).toEqual(fromFile('jsonata'));
  expect(deployed.QueryLanguage).toBe('JSONata');
  expect(fromFile('jsonpath')).not.toEqual(fromFile('jsonata'));
});

test('an unknown stateMachine context value is refused, naming the choices', () => {
  expect(() => orderFlowDefinition('yaml')).toThrow('context stateMachine must be jsonpath or jsonata, got "yaml"');
  expect(() => build({}, { stateMachine: 'JSONata ' })).toThrow(/must be jsonpath or jsonata/);
});
