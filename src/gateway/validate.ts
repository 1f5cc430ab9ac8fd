/**
 * What the MongoDB gateway accepts in a request body: filters, sorts, projections and pipelines
 * built from an allow-list, so a client holding an API key can read and write its one
 * collection and do nothing else (no `$where`, `$function`, `$accumulator`, `$expr`, `$lookup`,
 * `$out`, ...). Aggregation expressions are field paths, `$$ROOT`, scalars, objects of those,
 * and a few pure operators (comparisons, `$cond`, `$literal`, `$arrayElemAt`).
 */

/** A request the gateway refuses; becomes HTTP 400 with `error_code`. */
export class GatewayRequestError extends Error {
  constructor(
    message: string,
    readonly errorCode = 'InvalidParameter',
    readonly status = 400,
  ) {
    super(message);
  }
}

const QUERY_OPERATORS = new Set(['$eq', '$ne', '$gt', '$gte', '$lt', '$lte', '$in', '$nin', '$exists', '$not']);
const LOGICAL_OPERATORS = new Set(['$and', '$or', '$nor']);
const ACCUMULATORS = new Set(['$first', '$last', '$max', '$min', '$sum', '$count', '$push']);
const FIELD_PATH = /^\$[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;
const FIELD_NAME = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$/;
const MAX_DEPTH = 16;

function isPlainRecord(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/** BSON values that act as code or patterns when they appear in a filter. */
const REFUSED_BSON_TYPES = new Set(['BSONRegExp', 'Code', 'DBRef', 'BSONSymbol']);

function refuseCodeLike(value: unknown, where: string): void {
  const type = (value as { _bsontype?: unknown } | null)?._bsontype;
  if (value instanceof RegExp || (typeof type === 'string' && REFUSED_BSON_TYPES.has(type))) {
    throw new GatewayRequestError(`${where}: regular expressions and code are not allowed by this gateway`, 'OperatorNotAllowed');
  }
}

function refuseOperator(name: string, where: string): never {
  throw new GatewayRequestError(`${where}: the operator ${name} is not allowed by this gateway`, 'OperatorNotAllowed');
}

/** A filter document: field names and allowed operators only. */
export function checkFilter(filter: unknown, where = 'filter', depth = 0): Record<string, unknown> {
  if (depth > MAX_DEPTH) throw new GatewayRequestError(`${where} is nested too deeply`);
  if (!isPlainRecord(filter)) throw new GatewayRequestError(`${where} must be an object`);
  for (const [key, value] of Object.entries(filter)) {
    if (key.startsWith('$')) {
      if (!LOGICAL_OPERATORS.has(key)) refuseOperator(key, where);
      if (!Array.isArray(value) || value.length === 0) throw new GatewayRequestError(`${where}.${key} must be a non-empty array`);
      value.forEach((clause, i) => checkFilter(clause, `${where}.${key}[${i}]`, depth + 1));
    } else {
      checkFieldName(key, where);
      checkCondition(value, `${where}.${key}`, depth + 1);
    }
  }
  return filter;
}

function checkCondition(value: unknown, where: string, depth: number): void {
  // Without operators it is a literal (a value, an array, a sub-document matched as a whole).
  if (!isPlainRecord(value) || !Object.keys(value).some((k) => k.startsWith('$'))) return checkValue(value, where, depth);
  if (depth > MAX_DEPTH) throw new GatewayRequestError(`${where} is nested too deeply`);
  const keys = Object.keys(value);
  for (const key of keys) {
    if (!QUERY_OPERATORS.has(key)) refuseOperator(key, where);
    const operand = value[key];
    if (key === '$not') checkCondition(operand, `${where}.$not`, depth + 1);
    else if (key === '$in' || key === '$nin') {
      if (!Array.isArray(operand)) throw new GatewayRequestError(`${where}.${key} must be an array`);
      operand.forEach((item, i) => checkValue(item, `${where}.${key}[${i}]`, depth + 1));
    } else checkValue(operand, `${where}.${key}`, depth + 1);
  }
}

/** A literal operand of a filter: arrays and sub-documents are walked; no key may be an operator. */
function checkValue(value: unknown, where: string, depth: number): void {
  checkLiteral(value, where, depth, false);
}

/**
 * Walks a literal — a filter's operand, or (`stored`) a document to insert — through arrays of
 * any depth and sub-documents. No key may start with `$`; a stored document's keys may not hold
 * `.` or NUL either; a filter operand may not be a regular expression or code.
 */
function checkLiteral(value: unknown, where: string, depth: number, stored: boolean): void {
  if (depth > MAX_DEPTH) throw new GatewayRequestError(`${where} is nested too deeply (more than ${MAX_DEPTH} levels)`);
  if (Array.isArray(value)) return value.forEach((item, i) => checkLiteral(item, `${where}[${i}]`, depth + 1, stored));
  if (!stored) refuseCodeLike(value, where);
  if (!isPlainRecord(value)) return; // a scalar, or a BSON value (ObjectId, Date, ...) from EJSON
  for (const [key, inner] of Object.entries(value)) {
    if (stored && (key.startsWith('$') || key.includes('.') || key.includes('\0'))) throw new GatewayRequestError(`${where}: the field name ${JSON.stringify(key)} is not allowed`);
    if (key.startsWith('$')) refuseOperator(key, where);
    checkLiteral(inner, `${where}.${key}`, depth + 1, stored);
  }
}

function checkFieldName(name: string, where: string): void {
  if (name !== '_id' && !FIELD_NAME.test(name)) throw new GatewayRequestError(`${where}: ${JSON.stringify(name)} is not a field name this gateway accepts`);
}

/** `{field: 1 | -1}`. */
export function checkSort(sort: unknown, where = 'sort'): Record<string, 1 | -1> {
  if (!isPlainRecord(sort)) throw new GatewayRequestError(`${where} must be an object`);
  for (const [key, direction] of Object.entries(sort)) {
    checkFieldName(key, where);
    if (direction !== 1 && direction !== -1) throw new GatewayRequestError(`${where}.${key} must be 1 or -1`);
  }
  return sort as Record<string, 1 | -1>;
}

/** `{field: 0 | 1}` (no projection expressions). */
export function checkProjection(projection: unknown, where = 'projection'): Record<string, 0 | 1> {
  if (!isPlainRecord(projection)) throw new GatewayRequestError(`${where} must be an object`);
  for (const [key, flag] of Object.entries(projection)) {
    checkFieldName(key, where);
    if (flag !== 0 && flag !== 1 && flag !== true && flag !== false) throw new GatewayRequestError(`${where}.${key} must be 0 or 1`);
  }
  return projection as Record<string, 0 | 1>;
}

/** A whole number in [min, max]. */
export function checkInteger(value: unknown, where: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new GatewayRequestError(`${where} must be an integer from ${min} to ${max}`);
  }
  return value;
}

/** A document to insert: no `$`-prefixed or dotted field names at any depth, arrays of arrays included. */
export function checkDocument(document: unknown, where = 'document'): Record<string, unknown> {
  if (!isPlainRecord(document)) throw new GatewayRequestError(`${where} must be an object`);
  checkLiteral(document, where, 0, true);
  return document;
}

/** An aggregation pipeline of `$match`, `$sort`, `$group`, `$project`, `$limit`, `$skip` and `$count`. */
export function checkPipeline(pipeline: unknown, maxDocuments: number): Record<string, unknown>[] {
  if (!Array.isArray(pipeline)) throw new GatewayRequestError('pipeline must be an array');
  if (pipeline.length > 20) throw new GatewayRequestError('pipeline has more than 20 stages');
  return pipeline.map((stage, i) => {
    const where = `pipeline[${i}]`;
    if (!isPlainRecord(stage) || Object.keys(stage).length !== 1) throw new GatewayRequestError(`${where} must be an object with one stage`);
    const [[name, spec]] = Object.entries(stage) as [[string, unknown]];
    switch (name) {
      case '$match':
        checkFilter(spec, `${where}.$match`);
        break;
      case '$sort':
        checkSort(spec, `${where}.$sort`);
        break;
      case '$limit':
        checkInteger(spec, `${where}.$limit`, 1, maxDocuments);
        break;
      case '$skip':
        checkInteger(spec, `${where}.$skip`, 0, Number.MAX_SAFE_INTEGER);
        break;
      case '$count':
        if (typeof spec !== 'string' || !FIELD_NAME.test(spec)) throw new GatewayRequestError(`${where}.$count must be a field name`);
        break;
      case '$project':
        checkProjectStage(spec, `${where}.$project`);
        break;
      case '$group':
        checkGroupStage(spec, `${where}.$group`);
        break;
      default:
        refuseOperator(name, where);
    }
    return stage;
  });
}

/** Aggregation expression operators: comparisons, `$cond`, `$literal`, `$arrayElemAt` (what the persister's listings and prune use). */
const EXPRESSION_OPERATORS = new Set(['$eq', '$ne', '$gt', '$gte', '$lt', '$lte', '$cond', '$literal', '$arrayElemAt']);
const OBJECT_FIELD = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * An aggregation expression: a field path (`"$field"`), `"$$ROOT"`, a scalar, an object of
 * expressions (a compound `_id`), or one of {@link EXPRESSION_OPERATORS} over expressions. No
 * other variable, no code, nothing that reads another collection.
 */
function checkExpression(value: unknown, where: string, depth = 0): void {
  if (depth > MAX_DEPTH) throw new GatewayRequestError(`${where} is nested too deeply`);
  if (value === null || typeof value === 'number' || typeof value === 'boolean') return;
  if (typeof value === 'string') {
    if (value.startsWith('$') && value !== '$$ROOT' && !FIELD_PATH.test(value)) throw new GatewayRequestError(`${where}: ${JSON.stringify(value)} is not a field path this gateway accepts`);
    return;
  }
  if (!isPlainRecord(value)) throw new GatewayRequestError(`${where} must be a field path ("$field"), a scalar, an object of expressions or an allowed operator`);
  const keys = Object.keys(value);
  if (keys.length === 1 && keys[0]!.startsWith('$')) {
    const [operator] = keys as [string];
    const operand = value[operator];
    if (!EXPRESSION_OPERATORS.has(operator)) refuseOperator(operator, where);
    if (operator === '$literal') {
      if (operand !== null && !['string', 'number', 'boolean'].includes(typeof operand)) throw new GatewayRequestError(`${where}.$literal takes a string, a number, a boolean or null`);
      return;
    }
    const arity = operator === '$cond' ? 3 : 2;
    if (!Array.isArray(operand) || operand.length !== arity) throw new GatewayRequestError(`${where}.${operator} takes an array of ${arity} expressions`);
    if (operator === '$arrayElemAt') {
      checkExpression(operand[0], `${where}.$arrayElemAt[0]`, depth + 1);
      checkInteger(operand[1], `${where}.$arrayElemAt[1]`, -1_000_000, 1_000_000);
      return;
    }
    operand.forEach((item, i) => checkExpression(item, `${where}.${operator}[${i}]`, depth + 1));
    return;
  }
  for (const key of keys) {
    if (!OBJECT_FIELD.test(key)) throw new GatewayRequestError(`${where}: ${JSON.stringify(key)} is not a field name this gateway accepts in an expression`);
    checkExpression(value[key], `${where}.${key}`, depth + 1);
  }
}

function checkGroupStage(spec: unknown, where: string): void {
  if (!isPlainRecord(spec) || !('_id' in spec)) throw new GatewayRequestError(`${where} must be an object with _id`);
  for (const [key, value] of Object.entries(spec)) {
    if (key === '_id') {
      checkExpression(value, `${where}._id`);
      continue;
    }
    checkFieldName(key, where);
    if (!isPlainRecord(value) || Object.keys(value).length !== 1) throw new GatewayRequestError(`${where}.${key} must be one accumulator`);
    const [[accumulator, argument]] = Object.entries(value) as [[string, unknown]];
    if (!ACCUMULATORS.has(accumulator)) refuseOperator(accumulator, `${where}.${key}`);
    if (accumulator === '$count') {
      if (!isPlainRecord(argument) || Object.keys(argument).length > 0) throw new GatewayRequestError(`${where}.${key}.$count takes {}`);
    } else checkExpression(argument, `${where}.${key}.${accumulator}`);
  }
}

function checkProjectStage(spec: unknown, where: string): void {
  if (!isPlainRecord(spec)) throw new GatewayRequestError(`${where} must be an object`);
  for (const [key, value] of Object.entries(spec)) {
    checkFieldName(key, where);
    if (value === 0 || value === 1 || value === true || value === false) continue;
    // A computed field: a field path or an allowed operator (a bare literal would be read as 0/1 or a path).
    if (typeof value === 'string' && FIELD_PATH.test(value)) continue;
    if (isPlainRecord(value) && Object.keys(value).length === 1 && Object.keys(value)[0]!.startsWith('$')) {
      checkExpression(value, `${where}.${key}`);
      continue;
    }
    throw new GatewayRequestError(`${where}.${key} must be 0, 1, a field path or an allowed operator`);
  }
}
