import { builder } from './builder.js';
import { locateExpectedErrors } from './expected-errors.js';
import { rateLimitDirectiveDefinition } from './rate-limits.js';
import './scalars.js';
import '../modules/users/users.schema.js';
import '../modules/auth/auth.schema.js';
import '../modules/strategies/strategies.schema.js';
import '../modules/strategies/backtests.schema.js';
import '../modules/ledger/ledger.schema.js';
import '../modules/inventory/inventory.schema.js';
import '../modules/teams/teams.schema.js';
import '../modules/quizzes/quizzes.schema.js';

export const schema = locateExpectedErrors(
  builder.toSchema({ sortSchema: true, directives: [rateLimitDirectiveDefinition] }),
);
