import {
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  getOperationAST,
  type GraphQLError,
  Kind,
  type SelectionSetNode,
  type ValueNode,
} from 'graphql';
import type { GraphQLParams, Plugin } from 'graphql-yoga';
import { graphqlRuntime } from '../infra/graphql-runtime.js';

/** Yoga and graphql-ws take an error as theirs only when it is of the graphql they load (see graphqlRuntime). */
const { GraphQLError: RuntimeGraphQLError } = graphqlRuntime;

/**
 * PostgreSQL cannot store a NUL character in text (SQLSTATE 22021), so a
 * string holding one would fail in the database as an unexpected error —
 * after a resolver may already have written something. One rule, for every
 * field of the schema at once: before anything executes, every string in an
 * argument — a literal in the document, a variable's value (or its default),
 * at any depth of input objects, lists and JSON values, JSON object keys too —
 * is checked, and a NUL refuses the whole operation with BAD_USER_INPUT.
 *
 * An envelop plugin rather than the scalars: it sees literals and variables of
 * the built-in String and ID alike (graphql-js does not let a schema replace
 * those), and it knows the argument path, which a scalar's parser never does.
 * It runs on every transport (HTTP POST and GET, the fast path, SSE,
 * graphql-ws), since they all execute through Yoga's envelop.
 */

const NUL_MESSAGE = 'Must not contain NUL characters.';

/** Where a variable is used: the argument path it fills, and the NUL paths inside its default value (if any). */
interface VariableUse {
  name: string;
  path: string;
  defaultNulPaths: string[];
}

/** What one operation of a document needs checked: per field with arguments, the literal NULs and variable uses. */
interface FieldPlan {
  node: FieldNode;
  literalNulPaths: string[];
  variables: VariableUse[];
}

/**
 * Documents are cached by Yoga's parser cache, so the walk of a document's
 * literals is done once per document and operation; a request then only looks
 * at its variable values.
 */
const plans = new WeakMap<DocumentNode, Map<string, FieldPlan[]>>();

function planFor(document: DocumentNode, operationName: string | null | undefined): FieldPlan[] {
  let byOperation = plans.get(document);
  if (!byOperation) plans.set(document, (byOperation = new Map()));
  const key = operationName ?? '';
  let plan = byOperation.get(key);
  if (!plan) byOperation.set(key, (plan = buildPlan(document, operationName)));
  return plan;
}

function buildPlan(document: DocumentNode, operationName: string | null | undefined): FieldPlan[] {
  const operation = getOperationAST(document, operationName);
  if (!operation) return [];
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  const defaults = new Map<string, string[]>();
  for (const definition of operation.variableDefinitions ?? []) {
    if (!definition.defaultValue) continue;
    const nulPaths: string[] = [];
    literalNuls(definition.defaultValue, '', nulPaths, () => {});
    defaults.set(definition.variable.name.value, nulPaths);
  }

  const plan: FieldPlan[] = [];
  const visitedFragments = new Set<string>();
  const walk = (selectionSet: SelectionSetNode | undefined) => {
    for (const selection of selectionSet?.selections ?? []) {
      if (selection.kind === Kind.FIELD) {
        // Directive arguments are left out: the only executable directives, @include and @skip, take a Boolean.
        if (selection.arguments?.length) {
          const field: FieldPlan = { node: selection, literalNulPaths: [], variables: [] };
          for (const argument of selection.arguments) {
            literalNuls(argument.value, argument.name.value, field.literalNulPaths, (name, path) =>
              field.variables.push({ name, path, defaultNulPaths: defaults.get(name) ?? [] }),
            );
          }
          if (field.literalNulPaths.length > 0 || field.variables.length > 0) plan.push(field);
        }
        walk(selection.selectionSet);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        walk(selection.selectionSet);
      } else if (!visitedFragments.has(selection.name.value)) {
        visitedFragments.add(selection.name.value);
        walk(fragments.get(selection.name.value)?.selectionSet);
      }
    }
  };
  walk(operation.selectionSet);
  return plan;
}

const join = (path: string, segment: string | number) => (path === '' ? String(segment) : `${path}.${segment}`);

/** The paths of string literals holding a NUL inside a literal value; variables found in it go to `onVariable`. */
function literalNuls(
  value: ValueNode,
  path: string,
  out: string[],
  onVariable: (name: string, path: string) => void,
): void {
  switch (value.kind) {
    case Kind.STRING:
      if (value.value.includes('\u0000')) out.push(path);
      return;
    case Kind.LIST:
      value.values.forEach((item, index) => literalNuls(item, join(path, index), out, onVariable));
      return;
    case Kind.OBJECT:
      // Field names of a literal object are GraphQL names: they cannot hold a NUL.
      for (const field of value.fields) literalNuls(field.value, join(path, field.name.value), out, onVariable);
      return;
    case Kind.VARIABLE:
      onVariable(value.name.value, path);
      return;
    default:
      return;
  }
}

/**
 * The paths of strings holding a NUL inside a variable's (JSON) value. A key
 * holding one is reported at the object that has it: the key itself is not
 * fit to be echoed as a path. Iterative, as a client picks the nesting depth.
 */
function valueNuls(root: unknown, rootPath: string, out: string[]): void {
  const stack: Array<[unknown, string]> = [[root, rootPath]];
  while (stack.length > 0) {
    const [value, path] = stack.pop()!;
    if (typeof value === 'string') {
      if (value.includes('\u0000')) out.push(path);
    } else if (Array.isArray(value)) {
      for (let index = value.length - 1; index >= 0; index -= 1) stack.push([value[index], join(path, index)]);
    } else if (typeof value === 'object' && value !== null) {
      const entries = Object.entries(value);
      if (entries.some(([key]) => key.includes('\u0000'))) out.push(path);
      for (let index = entries.length - 1; index >= 0; index -= 1) {
        const [key, item] = entries[index]!;
        if (!key.includes('\u0000')) stack.push([item, join(path, key)]);
      }
    }
  }
}

/** The BAD_USER_INPUT errors of an operation whose arguments hold a NUL: one per field, naming the argument paths. */
function nulErrors(
  document: DocumentNode,
  operationName: string | null | undefined,
  variableValues: Readonly<Record<string, unknown>> | null | undefined,
): GraphQLError[] {
  const errors: GraphQLError[] = [];
  for (const field of planFor(document, operationName)) {
    const paths = [...field.literalNulPaths];
    for (const use of field.variables) {
      if (variableValues && Object.hasOwn(variableValues, use.name)) valueNuls(variableValues[use.name], use.path, paths);
      else for (const inner of use.defaultNulPaths) paths.push(inner === '' ? use.path : join(use.path, inner));
    }
    if (paths.length === 0) continue;
    const fields: Record<string, string> = {};
    for (const path of paths) fields[path] ??= NUL_MESSAGE;
    errors.push(
      new RuntimeGraphQLError('Invalid input.', {
        nodes: [field.node],
        // 400 over HTTP, as for variables that do not fit their types (the executor marks those so).
        extensions: { fields, code: 'BAD_USER_INPUT', http: { status: 400 } },
      }),
    );
  }
  return errors;
}

/** Refuses an operation whose arguments hold a NUL before any resolver runs: queries, mutations and subscriptions. */
export function useRefuseNulInputs(): Plugin {
  return {
    onExecute: ({ args, setResultAndStopExecution }) => {
      const errors = nulErrors(args.document, args.operationName, args.variableValues);
      if (errors.length > 0) setResultAndStopExecution({ errors });
    },
    onSubscribe: ({ args, setResultAndStopExecution }) => {
      const errors = nulErrors(args.document, args.operationName, args.variableValues);
      if (errors.length > 0) setResultAndStopExecution({ errors });
    },
  };
}

/**
 * GET /graphql (and a form-encoded POST) carries `variables` and `extensions`
 * as JSON text in the query string. Yoga's own parser lets a JSON.parse
 * failure escape as an unexpected error (500); the GraphQL-over-HTTP spec
 * answers a request that is not well-formed with 400, as Yoga does for a POST
 * body that is not JSON. This parser is Yoga's, with that answer.
 */
export function useUrlParamsAsJson(): Plugin {
  return {
    onRequestParse: ({ request, setRequestParser }) => {
      if (request.method === 'GET') {
        setRequestParser((get) => paramsFromSearch(new URLSearchParams(get.url.slice(get.url.indexOf('?') + 1))));
      } else if (isFormPost(request)) {
        setRequestParser(async (post) => paramsFromSearch(new URLSearchParams(await post.text())));
      }
    },
  };
}

const isFormPost = (request: Request) =>
  request.method === 'POST' &&
  /^application\/x-www-form-urlencoded(;|$)/.test(request.headers.get('content-type')?.split(',')[0]?.trim() ?? '');

function paramsFromSearch(search: URLSearchParams): GraphQLParams {
  return {
    operationName: search.get('operationName') || undefined,
    query: search.get('query') || undefined,
    variables: jsonParam(search, 'variables') as GraphQLParams['variables'],
    extensions: jsonParam(search, 'extensions') as GraphQLParams['extensions'],
  };
}

function jsonParam(search: URLSearchParams, name: 'variables' | 'extensions'): unknown {
  const text = search.get(name);
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new RuntimeGraphQLError(`The "${name}" parameter is not valid JSON.`, {
      extensions: { code: 'BAD_REQUEST', http: { status: 400 } },
    });
  }
}
