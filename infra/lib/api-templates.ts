/**
 * API Gateway (REST) mapping templates, in VTL, for the two direct Step Functions integrations.
 *
 * The seed embedded the body with `$util.escapeJavaScript($input.json('$'))`, which escapes an
 * apostrophe as `\'`: valid JavaScript, invalid JSON, so "Bob's Café" broke the request.
 * Everything embedded here goes through `escapeJson(...)`, which undoes exactly that escape.
 */

/** The order-id rule shared with the Rust contract (`MAX_ID_LEN` = 64, `[A-Za-z0-9_-]`). */
export const ORDER_ID_PATTERN = '^[A-Za-z0-9_-]{1,64}$';

/**
 * A VTL expression that renders `expr` as the inside of a JSON string.
 * `escapeJavaScript` escapes `"`, `\`, `/`, control and non-ASCII characters in ways JSON accepts,
 * and `'` as `\'`, which JSON does not; the Java regex `\\'` matches that `\'` and puts `'` back.
 */
export function escapeJson(expr: string): string {
  return `$util.escapeJavaScript(${expr}).replaceAll("\\\\'","'")`;
}

/**
 * The orderid: the `Idempotency-Key` header (matched case-insensitively) when present, else the
 * API Gateway request id. A key that breaks the id rule becomes an execution name Step Functions
 * refuses (it contains spaces), so the request fails with InvalidName, mapped to 400.
 */
const ORDER_ID_FROM_REQUEST = [
  '#set($orderid = $context.requestId)',
  '#foreach($header in $input.params().header.keySet())',
  '#if($header.toLowerCase() == "idempotency-key")',
  '#set($orderid = $input.params().header.get($header))',
  '#end',
  '#end',
  `#if(!$orderid.matches("${ORDER_ID_PATTERN}"))`,
  '#set($orderid = "invalid idempotency key")',
  '#end',
].join('\n');

/**
 * POST /order → states:StartExecution.
 * input = {"order": <body.order>, "orderid": <orderid>}, name = orderid.
 */
export function startExecutionRequest(stateMachineArn: string): string {
  return [
    ORDER_ID_FROM_REQUEST,
    '{',
    `  "stateMachineArn": "${stateMachineArn}",`,
    '  "name": "$orderid",',
    `  "input": "{\\"order\\": ${escapeJson("$input.json('$.order')")}, \\"orderid\\": \\"$orderid\\"}"`,
    '}',
  ].join('\n');
}

/**
 * 2xx from StartExecution → 202 Accepted. The orderid is the execution name: the part of the
 * execution ARN after its last colon. Location points at GET /orders/{orderid}.
 */
export const START_EXECUTION_ACCEPTED = [
  "#set($arn = $input.path('$.executionArn'))",
  "#set($start = $arn.lastIndexOf(':') + 1)",
  '#set($orderid = $arn.substring($start))',
  '#set($context.responseOverride.header.Location = "/orders/$orderid")',
  '{"orderid": "$orderid", "executionId": "$arn", "status": "RUNNING"}',
].join('\n');

/** A JSON error body `{"error":{"code","message"}}` with fixed text (nothing from AWS leaks). */
export function errorBody(code: string, message: string): string {
  return JSON.stringify({ error: { code, message } });
}

/**
 * 4xx from StartExecution. Step Functions answers an existing execution name with
 * ExecutionAlreadyExists (unless the same name and input are still running, which returns 200:
 * a retried POST is idempotent), mapped to 409; a bad Idempotency-Key surfaces as InvalidName.
 * The integration selects on the status code only, so the template reads `__type`.
 */
export const START_EXECUTION_CLIENT_ERROR = [
  "#set($type = \"$!input.path('$.__type')\")",
  '#if($type.endsWith("ExecutionAlreadyExists"))',
  '#set($context.responseOverride.status = 409)',
  errorBody('OrderAlreadyExists', 'An order with this Idempotency-Key already exists with a different body, or has finished.'),
  '#elseif($type.endsWith("InvalidName"))',
  errorBody('InvalidIdempotencyKey', `The Idempotency-Key header must match ${ORDER_ID_PATTERN}.`),
  '#else',
  errorBody('BadRequest', 'The order could not be started.'),
  '#end',
].join('\n');

export const SERVER_ERROR = errorBody('InternalError', 'The order service failed; retry with the same Idempotency-Key.');

/**
 * GET /orders/{orderid} → states:DescribeExecution. The execution ARN is the state machine's
 * execution prefix plus the orderid. An id that breaks the id rule is replaced by one that can
 * never exist (our ids have no dot), so the answer is ExecutionDoesNotExist → 404.
 */
export function describeExecutionRequest(executionArnPrefix: string): string {
  return [
    "#set($orderid = \"$!input.params().path.get('orderid')\")",
    `#if(!$orderid.matches("${ORDER_ID_PATTERN}"))`,
    '#set($orderid = "not.an.orderid")',
    '#end',
    `{"executionArn": "${executionArnPrefix}$orderid"}`,
  ].join('\n');
}

/**
 * 2xx from DescribeExecution → 200 {"orderid","executionId","status","startDate","stopDate",
 * "output","error","cause"}. `output` is the execution's JSON output (the OrderCompleted event)
 * embedded as JSON, or null while running.
 */
export const DESCRIBE_EXECUTION_OK = [
  "#set($e = $input.path('$'))",
  '{',
  '  "orderid": "$e.name",',
  '  "executionId": "$e.executionArn",',
  '  "status": "$e.status",',
  '  "startDate": #if("$!e.startDate" != "")$e.startDate#{else}null#end,',
  '  "stopDate": #if("$!e.stopDate" != "")$e.stopDate#{else}null#end,',
  '  "output": #if("$!e.output" != "")$e.output#{else}null#end,',
  `  "error": #if("$!e.error" != "")"${escapeJson('$e.error')}"#{else}null#end,`,
  `  "cause": #if("$!e.cause" != "")"${escapeJson('$e.cause')}"#{else}null#end`,
  '}',
].join('\n');

/** 4xx from DescribeExecution: unknown execution (or impossible id) → 404, else 400. */
export const DESCRIBE_EXECUTION_CLIENT_ERROR = [
  "#set($type = \"$!input.path('$.__type')\")",
  '#if($type.endsWith("ExecutionDoesNotExist") || $type.endsWith("InvalidArn"))',
  '#set($context.responseOverride.status = 404)',
  errorBody('OrderNotFound', 'No order with this orderid.'),
  '#else',
  errorBody('BadRequest', 'The order could not be described.'),
  '#end',
].join('\n');

/**
 * Gateway responses are not VTL: only simple substitution. `$context.error.messageString` is
 * already a quoted JSON string.
 */
export const GATEWAY_ERROR_TEMPLATE = '{"error":{"code":"$context.error.responseType","message":$context.error.messageString}}';
