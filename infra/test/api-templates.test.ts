import * as t from '../lib/api-templates';
import { build } from './harness';
import { escapeJavaScript, renderVtl } from './vtl';

const SM_ARN = 'arn:aws:states:eu-west-1:123456789012:stateMachine:OrderFlow-abc';
const EXEC_PREFIX = 'arn:aws:states:eu-west-1:123456789012:execution:OrderFlow-abc:';

const order = {
  accountid: 'acct-1',
  vendorid: 'v_1',
  orderdate: '2026-11-25T08:15:00Z',
  city: "Bob's Café \"Central\" / Hauptbahnhof \\ 東京",
  details: { coffeetype: "Flat white (Bob's)", coffeesize: 'Large', unitprice: '3.5', quantity: 2 },
  eventtype: ['new_order'],
};

describe('escapeJavaScript emulation (sanity)', () => {
  test('matches Commons Lang on the characters that matter', () => {
    expect(escapeJavaScript(`a'b"c\\d/e\n\u00e9`)).toBe("a\\'b\\\"c\\\\d\\/e\\n\\u00E9");
  });
});

describe('POST /order request template', () => {
  const template = t.startExecutionRequest(SM_ARN);

  test('uses the apostrophe fix on the embedded order', () => {
    expect(template).toContain(`"input": "{\\"order\\": $util.escapeJavaScript($input.json('$.order')).replaceAll("\\\\'","'"), \\"orderid\\": \\"$orderid\\"}"`);
  });

  test('an order with apostrophes, quotes, slashes and non-ASCII renders to valid JSON', () => {
    const { output } = renderVtl(template, { body: { order }, requestId: 'req-123' });
    const request = JSON.parse(output);
    expect(request).toEqual({ stateMachineArn: SM_ARN, name: 'req-123', input: expect.any(String) });
    expect(JSON.parse(request.input)).toEqual({ order, orderid: 'req-123' });
  });

  test('the seed template broke on the same apostrophe (regression guard)', () => {
    const seed = `{"input": "$util.escapeJavaScript($input.json('$'))", "stateMachineArn": "${SM_ARN}"}`;
    const { output } = renderVtl(seed, { body: { order } });
    expect(() => JSON.parse(JSON.parse(output).input)).toThrow();
  });

  test('Idempotency-Key (any case) becomes orderid and execution name', () => {
    for (const header of ['Idempotency-Key', 'idempotency-key', 'IDEMPOTENCY-KEY']) {
      const request = JSON.parse(renderVtl(template, { body: { order }, headers: { [header]: 'order_42-A' } }).output);
      expect(request.name).toBe('order_42-A');
      expect(JSON.parse(request.input).orderid).toBe('order_42-A');
    }
  });

  test('an Idempotency-Key that breaks the id rule becomes a name Step Functions refuses', () => {
    for (const bad of ['has space', 'quote"', "o'brien", 'x'.repeat(65), '']) {
      const request = JSON.parse(renderVtl(template, { body: { order }, headers: { 'Idempotency-Key': bad } }).output);
      expect(request.name).toBe('invalid idempotency key');
      expect(request.name).toMatch(/\s/); // SFN execution names may not contain whitespace → InvalidName
    }
  });
});

describe('POST /order responses', () => {
  test('2xx → orderid from the execution ARN, Location header, RUNNING', () => {
    const arn = `${EXEC_PREFIX}order_42-A`;
    const { output, responseOverride } = renderVtl(t.START_EXECUTION_ACCEPTED, { body: { executionArn: arn, startDate: 1.7e9 } });
    expect(JSON.parse(output)).toEqual({ orderid: 'order_42-A', executionId: arn, status: 'RUNNING' });
    expect(responseOverride.header.Location).toBe('/orders/order_42-A');
  });

  test('ExecutionAlreadyExists → 409; InvalidName → 400 with the rule; other 4xx → 400', () => {
    const exists = renderVtl(t.START_EXECUTION_CLIENT_ERROR, { body: { __type: 'com.amazonaws.swf.service.v2.model#ExecutionAlreadyExists', message: "Execution Already Exists: 'arn'" } });
    expect(exists.responseOverride.status).toBe(409);
    expect(JSON.parse(exists.output).error.code).toBe('OrderAlreadyExists');

    const invalid = renderVtl(t.START_EXECUTION_CLIENT_ERROR, { body: { __type: 'com.amazonaws.swf.service.v2.model#InvalidName' } });
    expect(invalid.responseOverride.status).toBeUndefined();
    expect(JSON.parse(invalid.output).error).toEqual({ code: 'InvalidIdempotencyKey', message: `The Idempotency-Key header must match ${t.ORDER_ID_PATTERN}.` });

    const other = renderVtl(t.START_EXECUTION_CLIENT_ERROR, { body: { __type: 'AccessDeniedException' } });
    expect(other.responseOverride.status).toBeUndefined();
    expect(JSON.parse(other.output)).toEqual({ error: { code: 'BadRequest', message: 'The order could not be started.' } });

    const empty = renderVtl(t.START_EXECUTION_CLIENT_ERROR, { body: {} });
    expect(JSON.parse(empty.output).error.code).toBe('BadRequest');
  });

  test('5xx → JSON error', () => {
    expect(JSON.parse(t.SERVER_ERROR)).toEqual({ error: { code: 'InternalError', message: expect.any(String) } });
  });
});

describe('GET /orders/{orderid}', () => {
  test('request: execution ARN = prefix + orderid; impossible ids never reach a real execution', () => {
    const tpl = t.describeExecutionRequest(EXEC_PREFIX);
    expect(JSON.parse(renderVtl(tpl, { path: { orderid: 'order_42-A' } }).output)).toEqual({ executionArn: `${EXEC_PREFIX}order_42-A` });
    for (const bad of ["o'brien", 'a"b', 'x'.repeat(65)]) {
      expect(JSON.parse(renderVtl(tpl, { path: { orderid: bad } }).output)).toEqual({ executionArn: `${EXEC_PREFIX}not.an.orderid` });
    }
  });

  test('200 while running: output null', () => {
    const body = { executionArn: `${EXEC_PREFIX}o1`, name: 'o1', status: 'RUNNING', startDate: 1764058500.123 };
    expect(JSON.parse(renderVtl(t.DESCRIBE_EXECUTION_OK, { body }).output)).toEqual({
      orderid: 'o1', executionId: `${EXEC_PREFIX}o1`, status: 'RUNNING', startDate: 1764058500.123, stopDate: null, output: null, error: null, cause: null,
    });
  });

  test('200 when finished: output embedded as JSON; error/cause with apostrophes stay valid JSON', () => {
    const event = { eventtype: 'OrderCompleted', orderid: 'o1', city: "Bob's" };
    const ok = { executionArn: `${EXEC_PREFIX}o1`, name: 'o1', status: 'SUCCEEDED', startDate: 1, stopDate: 2, output: JSON.stringify(event) };
    expect(JSON.parse(renderVtl(t.DESCRIBE_EXECUTION_OK, { body: ok }).output).output).toEqual(event);

    const failed = { executionArn: `${EXEC_PREFIX}o2`, name: 'o2', status: 'FAILED', startDate: 1, stopDate: 2, error: 'ActiveOrderExists', cause: "The customer's order \"x\" exists" };
    const parsed = JSON.parse(renderVtl(t.DESCRIBE_EXECUTION_OK, { body: failed }).output);
    expect(parsed).toMatchObject({ status: 'FAILED', output: null, error: 'ActiveOrderExists', cause: "The customer's order \"x\" exists" });
  });

  test('unknown execution → 404, others → 400', () => {
    const missing = renderVtl(t.DESCRIBE_EXECUTION_CLIENT_ERROR, { body: { __type: 'com.amazonaws.swf.service.v2.model#ExecutionDoesNotExist' } });
    expect(missing.responseOverride.status).toBe(404);
    expect(JSON.parse(missing.output).error.code).toBe('OrderNotFound');
    const other = renderVtl(t.DESCRIBE_EXECUTION_CLIENT_ERROR, { body: { __type: 'ThrottlingException' } });
    expect(other.responseOverride.status).toBeUndefined();
    expect(JSON.parse(other.output).error.code).toBe('BadRequest');
  });
});

describe('the synthesized API uses exactly these templates', () => {
  const { stack, template } = build();
  const sm = stack.orderFlow.stateMachine;
  const json = template.toJSON();
  const methods = Object.values<any>(json.Resources).filter((r) => r.Type === 'AWS::ApiGateway::Method');
  const integration = (action: string) => methods.find((m) => JSON.stringify(m.Properties.Integration.Uri ?? '').includes(`:states:action/${action}`)).Properties.Integration;

  test('StartExecution', () => {
    const i = integration('StartExecution');
    expect(i.RequestTemplates['application/json']).toEqual(stack.resolve(t.startExecutionRequest(sm.stateMachineArn)));
    expect(i.IntegrationResponses).toEqual([
      { StatusCode: '202', ResponseTemplates: { 'application/json': t.START_EXECUTION_ACCEPTED } },
      { StatusCode: '400', SelectionPattern: '4\\d{2}', ResponseTemplates: { 'application/json': t.START_EXECUTION_CLIENT_ERROR } },
      { StatusCode: '500', SelectionPattern: '5\\d{2}', ResponseTemplates: { 'application/json': t.SERVER_ERROR } },
    ]);
    expect(i.PassthroughBehavior).toBe('NEVER');
  });

  test('DescribeExecution', () => {
    const i = integration('DescribeExecution');
    expect(JSON.stringify(i.RequestTemplates['application/json'])).toContain('":execution:"');
    expect(i.IntegrationResponses.map((r: any) => [r.StatusCode, r.SelectionPattern])).toEqual([['200', undefined], ['400', '4\\d{2}'], ['500', '5\\d{2}']]);
  });
});
