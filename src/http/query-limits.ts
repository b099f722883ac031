import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthPlugin } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesPlugin } from '@escape.tech/graphql-armor-max-directives';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens';
import type { FieldComplexityValue } from '@pothos/plugin-complexity';
import {
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLError,
  type GraphQLInterfaceType,
  type GraphQLNamedType,
  type GraphQLObjectType,
  Kind,
  type SelectionSetNode,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { graphqlRuntime } from '../infra/graphql-runtime.js';
import { SIZE_ARGUMENT } from '../schema/cost.js';

/**
 * Limits on the shape of an operation, checked before anything executes. The
 * numbers leave room for every legitimate operation of the contract (the
 * deepest, strategies → edges → node → owner → field, is 5) and for GraphiQL's
 * introspection, while a query built to exhaust the server is refused cheaply.
 */
export const QUERY_LIMITS = {
  maxDepth: 10,
  maxAliases: 15,
  maxDirectives: 50,
  maxTokens: 2_000,
  // Each field costs 1 and a list multiplies its selection by the items it can return (schema/cost.ts):
  // a full page of 100 strategies with every field and its owner costs about 2,300, the viewer's accounts
  // with a page of 100 transactions each about 12,000; ten such pages in one operation are refused.
  maxCost: 20_000,
} as const;

// Rejections are relabelled so clients see the contract's code (docs/contract.md, §3 "Error codes").
const markTooComplex = (_context: unknown, error: GraphQLError) => {
  (error.extensions as Record<string, unknown>).code = 'QUERY_TOO_COMPLEX';
};
const callbacks = { onReject: [markTooComplex], propagateOnRejection: true };

/** The limits GraphQL validation checks: they depend on the document alone. */
export function queryLimitPlugins(): Plugin[] {
  return [
    maxTokensPlugin({ n: QUERY_LIMITS.maxTokens, ...callbacks }),
    maxDepthPlugin({ n: QUERY_LIMITS.maxDepth, ignoreIntrospection: true, flattenFragments: true, ...callbacks }),
    maxAliasesPlugin({ n: QUERY_LIMITS.maxAliases, ...callbacks }),
    maxDirectivesPlugin({ n: QUERY_LIMITS.maxDirectives, ...callbacks }),
  ] as Plugin[];
}

/**
 * The cost limit, checked when an operation is about to execute or subscribe:
 * a list's size may come from a variable (`strategies(first: $n)`), so the
 * cost is known only with the variables in hand, which validation (cached per
 * document) does not have. A field's cost depends on its `first` and nothing
 * else (schema/cost.ts), so an operation's cost is weighed once per document
 * and values of the variables given to `first`: the next request alike reads it.
 */
export function useQueryCost(maxCost: number = QUERY_LIMITS.maxCost): Plugin {
  const costs = new WeakMap<DocumentNode, { sizeVariables: readonly string[]; byKey: Map<string, number> }>();

  const costOf = (args: ExecutionArgs): number => {
    let known = costs.get(args.document);
    if (!known) costs.set(args.document, (known = { sizeVariables: sizeVariablesOf(args.document), byKey: new Map() }));
    const variables = args.variableValues as Record<string, unknown> | null | undefined;
    const key = `${args.operationName ?? ''}|${known.sizeVariables.map((name) => String(variables?.[name])).join('|')}`;
    let cost = known.byKey.get(key);
    if (cost === undefined) {
      cost = operationCost(args);
      // Each distinct page size is an entry: a document's cache stays small however clients vary them.
      if (known.byKey.size >= MAX_COSTS_PER_DOCUMENT) known.byKey.clear();
      known.byKey.set(key, cost);
    }
    return cost;
  };

  const refusal = (args: ExecutionArgs): ExecutionResult | null => {
    const cost = costOf(args);
    if (cost <= maxCost) return null;
    const message = `The operation costs ${cost.toLocaleString('en')}, more than the limit of ${maxCost.toLocaleString('en')}.`;
    return { errors: [new graphqlRuntime.GraphQLError(message, { extensions: { code: 'QUERY_TOO_COMPLEX', cost, maxCost } })] };
  };

  return {
    onExecute: ({ args, setResultAndStopExecution }) => {
      const refused = refusal(args);
      if (refused) setResultAndStopExecution(refused);
    },
    onSubscribe: ({ args, setResultAndStopExecution }) => {
      const refused = refusal(args);
      if (refused) setResultAndStopExecution(refused);
    },
  };
}

const MAX_COSTS_PER_DOCUMENT = 64;

/** The variables a document passes to a `first` argument, by name: the only ones its cost depends on. */
function sizeVariablesOf(document: DocumentNode): readonly string[] {
  const names = new Set<string>();
  graphqlRuntime.visit(document, {
    Argument(node) {
      if (node.name.value === SIZE_ARGUMENT && node.value.kind === Kind.VARIABLE) names.add(node.value.name.value);
    },
  });
  return [...names];
}

/**
 * The cost of the operation `args` executes, by the costs schema/cost.ts gives
 * its fields (in their `complexity` extension, where @pothos/plugin-complexity
 * puts them). Arguments are coerced as graphql does, without Pothos's mapping:
 * an argument that fails its own validation must not make the cost unknowable
 * (the field is refused when it runs; the rest of the operation is weighed).
 */
function operationCost(args: ExecutionArgs): number {
  const operation = graphqlRuntime.getOperationAST(args.document, args.operationName);
  const root = operation && args.schema.getRootType(operation.operation);
  if (!operation || !root) return 0;
  const coerced = graphqlRuntime.getVariableValues(
    args.schema,
    operation.variableDefinitions ?? [],
    (args.variableValues as Record<string, unknown> | null | undefined) ?? {},
  );
  // Variables that do not fit their types: execution refuses the operation before anything runs.
  if (coerced.errors) return 0;
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of args.document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  const selectionCost = (selectionSet: SelectionSetNode, type: GraphQLNamedType): number => {
    let cost = 0;
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) cost += fieldNodeCost(selection, type);
      else {
        const fragment = selection.kind === Kind.INLINE_FRAGMENT ? selection : fragments.get(selection.name.value);
        if (!fragment) continue;
        const condition = fragment.typeCondition ? args.schema.getType(fragment.typeCondition.name.value) : type;
        cost += selectionCost(fragment.selectionSet, condition ?? type);
      }
    }
    return cost;
  };
  const fieldNodeCost = (node: FieldNode, parent: GraphQLNamedType): number => {
    const field = isFieldsType(parent) ? parent.getFields()[node.name.value] : undefined;
    // Introspection (__schema, __type, __typename) is not counted.
    if (!field) return 0;
    const declared = field.extensions.complexity as FieldComplexity | undefined;
    let value: FieldComplexityValue = 1;
    if (typeof declared === 'function') {
      let fieldArgs: Record<string, unknown> = {};
      try {
        fieldArgs = graphqlRuntime.getArgumentValues(field, node, coerced.coerced);
      } catch {
        // An argument graphql refuses: the field fails when it runs; count it with its defaults.
      }
      value = declared(fieldArgs, {}, field as never);
    } else if (declared !== undefined) value = declared;
    const own = typeof value === 'number' ? value : (value.field ?? 1);
    const multiplier = typeof value === 'number' ? 1 : (value.multiplier ?? 1);
    return own + (node.selectionSet ? multiplier * selectionCost(node.selectionSet, graphqlRuntime.getNamedType(field.type)) : 0);
  };
  return selectionCost(operation.selectionSet, root);
}

type FieldComplexity = FieldComplexityValue | ((args: Record<string, unknown>, context: object, field: never) => FieldComplexityValue);

const isFieldsType = (type: GraphQLNamedType): type is GraphQLObjectType | GraphQLInterfaceType =>
  graphqlRuntime.isObjectType(type) || graphqlRuntime.isInterfaceType(type);
