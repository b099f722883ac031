/* eslint-disable */
import * as types from './graphql.js';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "\n  mutation BacktestStrategy($input: CreateStrategyInput!) { createStrategy(input: $input) { id } }\n": typeof types.BacktestStrategyDocument,
    "\n  mutation RunBacktest($strategyId: ID!, $from: DateTime!, $to: DateTime!) {\n    runBacktest(strategyId: $strategyId, from: $from, to: $to) {\n      id status from to result { trades } failureReason createdAt finishedAt strategy { id }\n    }\n  }\n": typeof types.RunBacktestDocument,
    "\n  query GetBacktest($id: ID!) {\n    backtest(id: $id) { id status result { trades returnPct maxDrawdownPct finalEquity } failureReason finishedAt }\n  }\n": typeof types.GetBacktestDocument,
    "\n  query StrategyBacktests($id: ID!, $first: Int, $after: String) {\n    strategy(id: $id) {\n      backtests(first: $first, after: $after) { totalCount edges { node { id status } } pageInfo { hasNextPage endCursor } }\n    }\n  }\n": typeof types.StrategyBacktestsDocument,
    "\n  query MyQuotas { myQuotas { backtests { used limit resetsAt } } }\n": typeof types.MyQuotasDocument,
    "\n  mutation CrossRegister($input: RegisterInput!) { register(input: $input) { accessToken user { id } } }\n": typeof types.CrossRegisterDocument,
    "\n  query CrossMe { me { provisioningStatus accounts { id } } }\n": typeof types.CrossMeDocument,
    "\n  mutation CrossTransfer($input: TransferInput!) { transfer(input: $input) { id status } }\n": typeof types.CrossTransferDocument,
    "\n  subscription CrossTransactionUpdated { transactionUpdated { id status amount } }\n": typeof types.CrossTransactionUpdatedDocument,
    "\n  mutation FlashPurchase($input: PurchaseInput!) { purchase(input: $input) { id status quantity } }\n": typeof types.FlashPurchaseDocument,
    "\n  mutation InvCreateItem($input: CreateItemInput!) {\n    createItem(input: $input) { id sku name price currency stock limitPerUser }\n  }\n": typeof types.InvCreateItemDocument,
    "\n  mutation InvRestock($itemId: ID!, $quantity: Int!) { restock(itemId: $itemId, quantity: $quantity) { id stock } }\n": typeof types.InvRestockDocument,
    "\n  query InvItem($id: ID!) { item(id: $id) { id sku stock price currency limitPerUser } }\n": typeof types.InvItemDocument,
    "\n  query InvItems($first: Int, $after: String) {\n    items(first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { node { id sku } } }\n  }\n": typeof types.InvItemsDocument,
    "\n  mutation InvPurchase($input: PurchaseInput!) {\n    purchase(input: $input) {\n      id quantity total status failureReason createdAt updatedAt\n      buyer { id }\n      item { id stock }\n    }\n  }\n": typeof types.InvPurchaseDocument,
    "\n  query InvOrder($id: ID!) {\n    order(id: $id) { id status quantity total failureReason createdAt updatedAt buyer { id } item { id sku } }\n  }\n": typeof types.InvOrderDocument,
    "\n  query InvMyOrders($first: Int, $after: String) {\n    myOrders(first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { node { id buyer { id } } } }\n  }\n": typeof types.InvMyOrdersDocument,
    "\n  query MyAccounts { me { id provisioningStatus accounts { id currency balance available } } }\n": typeof types.MyAccountsDocument,
    "\n  mutation OpenAccount($input: OpenAccountInput!) { openAccount(input: $input) { id currency balance available } }\n": typeof types.OpenAccountDocument,
    "\n  mutation Transfer($input: TransferInput!) {\n    transfer(input: $input) { id kind status amount currency memo from { id } to { id } failureReason settledAt }\n  }\n": typeof types.TransferDocument,
    "\n  mutation Deposit($input: DepositInput!) { deposit(input: $input) { id kind status amount from { id } to { id } } }\n": typeof types.DepositDocument,
    "\n  query Account($id: ID!) {\n    account(id: $id) {\n      id balance available owner { id }\n      transactions(first: 10) { totalCount edges { node { id kind status amount } } }\n    }\n  }\n": typeof types.AccountDocument,
    "\n  query LedgerTransaction($id: ID!) { ledgerTransaction(id: $id) { id status amount settledAt } }\n": typeof types.LedgerTransactionDocument,
    "\n  query Counterparty($id: ID!) { ledgerTransaction(id: $id) { id to { id balance } } }\n": typeof types.CounterpartyDocument,
    "\n  mutation LivePurchase($input: PurchaseInput!) { purchase(input: $input) { id status } }\n": typeof types.LivePurchaseDocument,
    "\n  subscription LiveOrderUpdated($orderId: ID) {\n    orderUpdated(orderId: $orderId) { id status failureReason quantity total item { id } buyer { id } }\n  }\n": typeof types.LiveOrderUpdatedDocument,
    "\n  subscription LiveStockChanged($itemId: ID!) { stockChanged(itemId: $itemId) { id sku stock price limitPerUser } }\n": typeof types.LiveStockChangedDocument,
    "mutation LiveQuizCreate($input: CreateQuizInput!) { createQuiz(input: $input) { id } }": typeof types.LiveQuizCreateDocument,
    "\n  mutation LiveQuizQuestions($quizId: ID!, $questions: [QuizQuestionInput!]!) { addQuizQuestions(quizId: $quizId, questions: $questions) { id } }\n": typeof types.LiveQuizQuestionsDocument,
    "mutation LiveQuizPublish($id: ID!) { publishQuiz(id: $id) { id } }": typeof types.LiveQuizPublishDocument,
    "mutation LiveQuizStart($id: ID!) { startQuiz(id: $id) { id endsAt } }": typeof types.LiveQuizStartDocument,
    "mutation LiveQuizEnd($id: ID!) { endQuiz(id: $id) { id status } }": typeof types.LiveQuizEndDocument,
    "mutation LiveQuizRegister($quizId: ID!, $teamId: ID!) { registerForQuiz(quizId: $quizId, teamId: $teamId) { id } }": typeof types.LiveQuizRegisterDocument,
    "\n  mutation LiveQuizRequest($quizId: ID!) { requestQuestion(quizId: $quizId, difficulty: EASY) { id } }\n": typeof types.LiveQuizRequestDocument,
    "\n  mutation LiveQuizSubmit($assignmentId: ID!, $choiceIndex: Int!) { submitAnswer(assignmentId: $assignmentId, choiceIndex: $choiceIndex) { status } }\n": typeof types.LiveQuizSubmitDocument,
    "\n  subscription LiveLeaderboard($quizId: ID!, $first: Int) {\n    leaderboardUpdated(quizId: $quizId, first: $first) { final quiz { id status } entries { rank points answered team { id } } }\n  }\n": typeof types.LiveLeaderboardDocument,
    "\n  subscription LiveLeaderboardMine($quizId: ID!) {\n    leaderboardUpdated(quizId: $quizId) { final quiz { myEntry { rank points team { id } } } }\n  }\n": typeof types.LiveLeaderboardMineDocument,
    "\n  mutation QuizCreate($input: CreateQuizInput!) {\n    createQuiz(input: $input) {\n      id title status maxTeams registeredTeams durationSeconds questionTimeLimitSeconds startingPoints startedAt endsAt\n    }\n  }\n": typeof types.QuizCreateDocument,
    "\n  mutation QuizAddQuestions($quizId: ID!, $questions: [QuizQuestionInput!]!) {\n    addQuizQuestions(quizId: $quizId, questions: $questions) {\n      id easy: questionsLeft(difficulty: EASY) medium: questionsLeft(difficulty: MEDIUM) all: questionsLeft\n    }\n  }\n": typeof types.QuizAddQuestionsDocument,
    "mutation QuizPublish($id: ID!) { publishQuiz(id: $id) { id status } }": typeof types.QuizPublishDocument,
    "mutation QuizStart($id: ID!) { startQuiz(id: $id) { id status startedAt endsAt } }": typeof types.QuizStartDocument,
    "mutation QuizEnd($id: ID!) { endQuiz(id: $id) { id status endsAt } }": typeof types.QuizEndDocument,
    "\n  mutation QuizRegister($quizId: ID!, $teamId: ID!) { registerForQuiz(quizId: $quizId, teamId: $teamId) { id registeredTeams } }\n": typeof types.QuizRegisterDocument,
    "\n  mutation QuizRequest($quizId: ID!, $difficulty: Difficulty!) {\n    requestQuestion(quizId: $quizId, difficulty: $difficulty) {\n      id status cost pointsAwarded assignedAt deadline answeredAt\n      quiz { id } team { id } question { id difficulty prompt choices }\n    }\n  }\n": typeof types.QuizRequestDocument,
    "\n  mutation QuizSubmit($assignmentId: ID!, $choiceIndex: Int!) {\n    submitAnswer(assignmentId: $assignmentId, choiceIndex: $choiceIndex) { id status cost pointsAwarded answeredAt }\n  }\n": typeof types.QuizSubmitDocument,
    "\n  query QuizGet($id: ID!, $first: Int) {\n    quiz(id: $id) {\n      id status registeredTeams questionsLeft\n      leaderboard(first: $first) { rank points correctAnswers answered team { id name } }\n      myEntry { rank points correctAnswers answered team { id } }\n    }\n  }\n": typeof types.QuizGetDocument,
    "\n  query QuizList($status: QuizStatus, $first: Int, $after: String) {\n    quizzes(status: $status, first: $first, after: $after) {\n      totalCount edges { node { id status } } pageInfo { hasNextPage endCursor }\n    }\n  }\n": typeof types.QuizListDocument,
    "\n  query QuizMyAssignments($quizId: ID!) { myAssignments(quizId: $quizId) { id status cost pointsAwarded question { id } } }\n": typeof types.QuizMyAssignmentsDocument,
    "mutation QuizLeaveTeam($teamId: ID!) { leaveTeam(teamId: $teamId) }": typeof types.QuizLeaveTeamDocument,
    "\n  mutation CreateStrategy($input: CreateStrategyInput!) {\n    createStrategy(input: $input) { id name asset description params owner { id } createdAt updatedAt }\n  }\n": typeof types.CreateStrategyDocument,
    "\n  mutation UpdateStrategy($id: ID!, $input: UpdateStrategyInput!) {\n    updateStrategy(id: $id, input: $input) { id name asset description params }\n  }\n": typeof types.UpdateStrategyDocument,
    "\n  mutation DeleteStrategy($id: ID!) { deleteStrategy(id: $id) }\n": typeof types.DeleteStrategyDocument,
    "\n  query GetStrategy($id: ID!) { strategy(id: $id) { id name owner { id email } } }\n": typeof types.GetStrategyDocument,
    "\n  query ListStrategies($first: Int, $after: String, $filter: StrategyFilter) {\n    strategies(first: $first, after: $after, filter: $filter) {\n      totalCount\n      edges { cursor node { id name asset owner { id } } }\n      pageInfo { hasNextPage endCursor }\n    }\n  }\n": typeof types.ListStrategiesDocument,
    "\n  mutation LiveTransfer($input: TransferInput!) { transfer(input: $input) { id status } }\n": typeof types.LiveTransferDocument,
    "\n  subscription TransactionUpdated($accountId: ID) {\n    transactionUpdated(accountId: $accountId) { id status amount from { id } to { id } settledAt }\n  }\n": typeof types.TransactionUpdatedDocument,
    "\n  query SweptMe { me { provisioningStatus accounts { id } } }\n": typeof types.SweptMeDocument,
    "\n  mutation SendMoney($input: TransferInput!) { transfer(input: $input) { id status } }\n": typeof types.SendMoneyDocument,
    "\n  mutation LiveCreateTeam($input: CreateTeamInput!) { createTeam(input: $input) { id } }\n": typeof types.LiveCreateTeamDocument,
    "\n  mutation LiveUpdateTeam($id: ID!, $input: UpdateTeamInput!) { updateTeam(id: $id, input: $input) { id } }\n": typeof types.LiveUpdateTeamDocument,
    "\n  mutation LiveRequestToJoin($teamId: ID!) { requestToJoin(teamId: $teamId) { id } }\n": typeof types.LiveRequestToJoinDocument,
    "\n  mutation LiveRespond($requestId: ID!, $accept: Boolean!) { respondToJoinRequest(requestId: $requestId, accept: $accept) { id } }\n": typeof types.LiveRespondDocument,
    "\n  mutation LiveRemoveMember($teamId: ID!, $userId: ID!) { removeMember(teamId: $teamId, userId: $userId) { id } }\n": typeof types.LiveRemoveMemberDocument,
    "\n  subscription LiveTeamUpdated($teamId: ID!) {\n    teamUpdated(teamId: $teamId) { id description memberCount owner { id } members { user { id } } joinRequests { id } }\n  }\n": typeof types.LiveTeamUpdatedDocument,
    "\n  subscription LiveJoinRequestUpdated { joinRequestUpdated { id status team { id } user { id } } }\n": typeof types.LiveJoinRequestUpdatedDocument,
    "\n  mutation TeamsCreate($input: CreateTeamInput!) {\n    createTeam(input: $input) {\n      id name description skills maxSize memberCount openSeats createdAt updatedAt\n      owner { id name }\n      members { role joinedAt user { id } }\n    }\n  }\n": typeof types.TeamsCreateDocument,
    "\n  mutation TeamsUpdate($id: ID!, $input: UpdateTeamInput!) {\n    updateTeam(id: $id, input: $input) { id name description skills maxSize memberCount }\n  }\n": typeof types.TeamsUpdateDocument,
    "\n  mutation TeamsRequest($teamId: ID!, $message: String) {\n    requestToJoin(teamId: $teamId, message: $message) { id status message decidedAt team { id } user { id } }\n  }\n": typeof types.TeamsRequestDocument,
    "\n  mutation TeamsWithdraw($requestId: ID!) { withdrawJoinRequest(requestId: $requestId) { id status decidedAt } }\n": typeof types.TeamsWithdrawDocument,
    "\n  mutation TeamsRespond($requestId: ID!, $accept: Boolean!) {\n    respondToJoinRequest(requestId: $requestId, accept: $accept) { id status decidedAt }\n  }\n": typeof types.TeamsRespondDocument,
    "\n  mutation TeamsLeave($teamId: ID!) { leaveTeam(teamId: $teamId) }\n": typeof types.TeamsLeaveDocument,
    "\n  mutation TeamsRemove($teamId: ID!, $userId: ID!) { removeMember(teamId: $teamId, userId: $userId) { id memberCount } }\n": typeof types.TeamsRemoveDocument,
    "\n  mutation TeamsTransfer($teamId: ID!, $userId: ID!) {\n    transferTeamOwnership(teamId: $teamId, userId: $userId) { id owner { id } members { role user { id } } }\n  }\n": typeof types.TeamsTransferDocument,
    "\n  mutation TeamsSetSkills($skills: [String!]!) { setMySkills(skills: $skills) { id skills } }\n": typeof types.TeamsSetSkillsDocument,
    "\n  query TeamsGet($id: ID!, $status: JoinRequestStatus) {\n    team(id: $id) {\n      id name memberCount openSeats\n      owner { id }\n      members { role user { id } }\n      joinRequests(status: $status) { id status user { id } }\n    }\n  }\n": typeof types.TeamsGetDocument,
    "\n  query TeamsList($first: Int, $after: String, $filter: TeamFilter) {\n    teams(first: $first, after: $after, filter: $filter) {\n      totalCount\n      edges { node { id name openSeats owner { id } members { user { id name } } } }\n      pageInfo { hasNextPage endCursor }\n    }\n  }\n": typeof types.TeamsListDocument,
    "\n  query TeamsSuggested($first: Int) { suggestedTeams(first: $first) { id name skills } }\n": typeof types.TeamsSuggestedDocument,
    "\n  query TeamsMyRequests($first: Int, $after: String) {\n    myJoinRequests(first: $first, after: $after) {\n      totalCount\n      edges { node { id status team { id } } }\n      pageInfo { hasNextPage endCursor }\n    }\n  }\n": typeof types.TeamsMyRequestsDocument,
    "\n  query TeamsMe { me { id skills team { id name } } }\n": typeof types.TeamsMeDocument,
    "\n  query Users($search: String, $first: Int, $after: String) {\n    users(search: $search, first: $first, after: $after) {\n      totalCount\n      edges { node { id email name role } }\n      pageInfo { hasNextPage endCursor }\n    }\n  }\n": typeof types.UsersDocument,
    "\n  query UserById($id: ID!) { user(id: $id) { id email name role createdAt provisioningStatus } }\n": typeof types.UserByIdDocument,
};
const documents: Documents = {
    "\n  mutation BacktestStrategy($input: CreateStrategyInput!) { createStrategy(input: $input) { id } }\n": types.BacktestStrategyDocument,
    "\n  mutation RunBacktest($strategyId: ID!, $from: DateTime!, $to: DateTime!) {\n    runBacktest(strategyId: $strategyId, from: $from, to: $to) {\n      id status from to result { trades } failureReason createdAt finishedAt strategy { id }\n    }\n  }\n": types.RunBacktestDocument,
    "\n  query GetBacktest($id: ID!) {\n    backtest(id: $id) { id status result { trades returnPct maxDrawdownPct finalEquity } failureReason finishedAt }\n  }\n": types.GetBacktestDocument,
    "\n  query StrategyBacktests($id: ID!, $first: Int, $after: String) {\n    strategy(id: $id) {\n      backtests(first: $first, after: $after) { totalCount edges { node { id status } } pageInfo { hasNextPage endCursor } }\n    }\n  }\n": types.StrategyBacktestsDocument,
    "\n  query MyQuotas { myQuotas { backtests { used limit resetsAt } } }\n": types.MyQuotasDocument,
    "\n  mutation CrossRegister($input: RegisterInput!) { register(input: $input) { accessToken user { id } } }\n": types.CrossRegisterDocument,
    "\n  query CrossMe { me { provisioningStatus accounts { id } } }\n": types.CrossMeDocument,
    "\n  mutation CrossTransfer($input: TransferInput!) { transfer(input: $input) { id status } }\n": types.CrossTransferDocument,
    "\n  subscription CrossTransactionUpdated { transactionUpdated { id status amount } }\n": types.CrossTransactionUpdatedDocument,
    "\n  mutation FlashPurchase($input: PurchaseInput!) { purchase(input: $input) { id status quantity } }\n": types.FlashPurchaseDocument,
    "\n  mutation InvCreateItem($input: CreateItemInput!) {\n    createItem(input: $input) { id sku name price currency stock limitPerUser }\n  }\n": types.InvCreateItemDocument,
    "\n  mutation InvRestock($itemId: ID!, $quantity: Int!) { restock(itemId: $itemId, quantity: $quantity) { id stock } }\n": types.InvRestockDocument,
    "\n  query InvItem($id: ID!) { item(id: $id) { id sku stock price currency limitPerUser } }\n": types.InvItemDocument,
    "\n  query InvItems($first: Int, $after: String) {\n    items(first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { node { id sku } } }\n  }\n": types.InvItemsDocument,
    "\n  mutation InvPurchase($input: PurchaseInput!) {\n    purchase(input: $input) {\n      id quantity total status failureReason createdAt updatedAt\n      buyer { id }\n      item { id stock }\n    }\n  }\n": types.InvPurchaseDocument,
    "\n  query InvOrder($id: ID!) {\n    order(id: $id) { id status quantity total failureReason createdAt updatedAt buyer { id } item { id sku } }\n  }\n": types.InvOrderDocument,
    "\n  query InvMyOrders($first: Int, $after: String) {\n    myOrders(first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { node { id buyer { id } } } }\n  }\n": types.InvMyOrdersDocument,
    "\n  query MyAccounts { me { id provisioningStatus accounts { id currency balance available } } }\n": types.MyAccountsDocument,
    "\n  mutation OpenAccount($input: OpenAccountInput!) { openAccount(input: $input) { id currency balance available } }\n": types.OpenAccountDocument,
    "\n  mutation Transfer($input: TransferInput!) {\n    transfer(input: $input) { id kind status amount currency memo from { id } to { id } failureReason settledAt }\n  }\n": types.TransferDocument,
    "\n  mutation Deposit($input: DepositInput!) { deposit(input: $input) { id kind status amount from { id } to { id } } }\n": types.DepositDocument,
    "\n  query Account($id: ID!) {\n    account(id: $id) {\n      id balance available owner { id }\n      transactions(first: 10) { totalCount edges { node { id kind status amount } } }\n    }\n  }\n": types.AccountDocument,
    "\n  query LedgerTransaction($id: ID!) { ledgerTransaction(id: $id) { id status amount settledAt } }\n": types.LedgerTransactionDocument,
    "\n  query Counterparty($id: ID!) { ledgerTransaction(id: $id) { id to { id balance } } }\n": types.CounterpartyDocument,
    "\n  mutation LivePurchase($input: PurchaseInput!) { purchase(input: $input) { id status } }\n": types.LivePurchaseDocument,
    "\n  subscription LiveOrderUpdated($orderId: ID) {\n    orderUpdated(orderId: $orderId) { id status failureReason quantity total item { id } buyer { id } }\n  }\n": types.LiveOrderUpdatedDocument,
    "\n  subscription LiveStockChanged($itemId: ID!) { stockChanged(itemId: $itemId) { id sku stock price limitPerUser } }\n": types.LiveStockChangedDocument,
    "mutation LiveQuizCreate($input: CreateQuizInput!) { createQuiz(input: $input) { id } }": types.LiveQuizCreateDocument,
    "\n  mutation LiveQuizQuestions($quizId: ID!, $questions: [QuizQuestionInput!]!) { addQuizQuestions(quizId: $quizId, questions: $questions) { id } }\n": types.LiveQuizQuestionsDocument,
    "mutation LiveQuizPublish($id: ID!) { publishQuiz(id: $id) { id } }": types.LiveQuizPublishDocument,
    "mutation LiveQuizStart($id: ID!) { startQuiz(id: $id) { id endsAt } }": types.LiveQuizStartDocument,
    "mutation LiveQuizEnd($id: ID!) { endQuiz(id: $id) { id status } }": types.LiveQuizEndDocument,
    "mutation LiveQuizRegister($quizId: ID!, $teamId: ID!) { registerForQuiz(quizId: $quizId, teamId: $teamId) { id } }": types.LiveQuizRegisterDocument,
    "\n  mutation LiveQuizRequest($quizId: ID!) { requestQuestion(quizId: $quizId, difficulty: EASY) { id } }\n": types.LiveQuizRequestDocument,
    "\n  mutation LiveQuizSubmit($assignmentId: ID!, $choiceIndex: Int!) { submitAnswer(assignmentId: $assignmentId, choiceIndex: $choiceIndex) { status } }\n": types.LiveQuizSubmitDocument,
    "\n  subscription LiveLeaderboard($quizId: ID!, $first: Int) {\n    leaderboardUpdated(quizId: $quizId, first: $first) { final quiz { id status } entries { rank points answered team { id } } }\n  }\n": types.LiveLeaderboardDocument,
    "\n  subscription LiveLeaderboardMine($quizId: ID!) {\n    leaderboardUpdated(quizId: $quizId) { final quiz { myEntry { rank points team { id } } } }\n  }\n": types.LiveLeaderboardMineDocument,
    "\n  mutation QuizCreate($input: CreateQuizInput!) {\n    createQuiz(input: $input) {\n      id title status maxTeams registeredTeams durationSeconds questionTimeLimitSeconds startingPoints startedAt endsAt\n    }\n  }\n": types.QuizCreateDocument,
    "\n  mutation QuizAddQuestions($quizId: ID!, $questions: [QuizQuestionInput!]!) {\n    addQuizQuestions(quizId: $quizId, questions: $questions) {\n      id easy: questionsLeft(difficulty: EASY) medium: questionsLeft(difficulty: MEDIUM) all: questionsLeft\n    }\n  }\n": types.QuizAddQuestionsDocument,
    "mutation QuizPublish($id: ID!) { publishQuiz(id: $id) { id status } }": types.QuizPublishDocument,
    "mutation QuizStart($id: ID!) { startQuiz(id: $id) { id status startedAt endsAt } }": types.QuizStartDocument,
    "mutation QuizEnd($id: ID!) { endQuiz(id: $id) { id status endsAt } }": types.QuizEndDocument,
    "\n  mutation QuizRegister($quizId: ID!, $teamId: ID!) { registerForQuiz(quizId: $quizId, teamId: $teamId) { id registeredTeams } }\n": types.QuizRegisterDocument,
    "\n  mutation QuizRequest($quizId: ID!, $difficulty: Difficulty!) {\n    requestQuestion(quizId: $quizId, difficulty: $difficulty) {\n      id status cost pointsAwarded assignedAt deadline answeredAt\n      quiz { id } team { id } question { id difficulty prompt choices }\n    }\n  }\n": types.QuizRequestDocument,
    "\n  mutation QuizSubmit($assignmentId: ID!, $choiceIndex: Int!) {\n    submitAnswer(assignmentId: $assignmentId, choiceIndex: $choiceIndex) { id status cost pointsAwarded answeredAt }\n  }\n": types.QuizSubmitDocument,
    "\n  query QuizGet($id: ID!, $first: Int) {\n    quiz(id: $id) {\n      id status registeredTeams questionsLeft\n      leaderboard(first: $first) { rank points correctAnswers answered team { id name } }\n      myEntry { rank points correctAnswers answered team { id } }\n    }\n  }\n": types.QuizGetDocument,
    "\n  query QuizList($status: QuizStatus, $first: Int, $after: String) {\n    quizzes(status: $status, first: $first, after: $after) {\n      totalCount edges { node { id status } } pageInfo { hasNextPage endCursor }\n    }\n  }\n": types.QuizListDocument,
    "\n  query QuizMyAssignments($quizId: ID!) { myAssignments(quizId: $quizId) { id status cost pointsAwarded question { id } } }\n": types.QuizMyAssignmentsDocument,
    "mutation QuizLeaveTeam($teamId: ID!) { leaveTeam(teamId: $teamId) }": types.QuizLeaveTeamDocument,
    "\n  mutation CreateStrategy($input: CreateStrategyInput!) {\n    createStrategy(input: $input) { id name asset description params owner { id } createdAt updatedAt }\n  }\n": types.CreateStrategyDocument,
    "\n  mutation UpdateStrategy($id: ID!, $input: UpdateStrategyInput!) {\n    updateStrategy(id: $id, input: $input) { id name asset description params }\n  }\n": types.UpdateStrategyDocument,
    "\n  mutation DeleteStrategy($id: ID!) { deleteStrategy(id: $id) }\n": types.DeleteStrategyDocument,
    "\n  query GetStrategy($id: ID!) { strategy(id: $id) { id name owner { id email } } }\n": types.GetStrategyDocument,
    "\n  query ListStrategies($first: Int, $after: String, $filter: StrategyFilter) {\n    strategies(first: $first, after: $after, filter: $filter) {\n      totalCount\n      edges { cursor node { id name asset owner { id } } }\n      pageInfo { hasNextPage endCursor }\n    }\n  }\n": types.ListStrategiesDocument,
    "\n  mutation LiveTransfer($input: TransferInput!) { transfer(input: $input) { id status } }\n": types.LiveTransferDocument,
    "\n  subscription TransactionUpdated($accountId: ID) {\n    transactionUpdated(accountId: $accountId) { id status amount from { id } to { id } settledAt }\n  }\n": types.TransactionUpdatedDocument,
    "\n  query SweptMe { me { provisioningStatus accounts { id } } }\n": types.SweptMeDocument,
    "\n  mutation SendMoney($input: TransferInput!) { transfer(input: $input) { id status } }\n": types.SendMoneyDocument,
    "\n  mutation LiveCreateTeam($input: CreateTeamInput!) { createTeam(input: $input) { id } }\n": types.LiveCreateTeamDocument,
    "\n  mutation LiveUpdateTeam($id: ID!, $input: UpdateTeamInput!) { updateTeam(id: $id, input: $input) { id } }\n": types.LiveUpdateTeamDocument,
    "\n  mutation LiveRequestToJoin($teamId: ID!) { requestToJoin(teamId: $teamId) { id } }\n": types.LiveRequestToJoinDocument,
    "\n  mutation LiveRespond($requestId: ID!, $accept: Boolean!) { respondToJoinRequest(requestId: $requestId, accept: $accept) { id } }\n": types.LiveRespondDocument,
    "\n  mutation LiveRemoveMember($teamId: ID!, $userId: ID!) { removeMember(teamId: $teamId, userId: $userId) { id } }\n": types.LiveRemoveMemberDocument,
    "\n  subscription LiveTeamUpdated($teamId: ID!) {\n    teamUpdated(teamId: $teamId) { id description memberCount owner { id } members { user { id } } joinRequests { id } }\n  }\n": types.LiveTeamUpdatedDocument,
    "\n  subscription LiveJoinRequestUpdated { joinRequestUpdated { id status team { id } user { id } } }\n": types.LiveJoinRequestUpdatedDocument,
    "\n  mutation TeamsCreate($input: CreateTeamInput!) {\n    createTeam(input: $input) {\n      id name description skills maxSize memberCount openSeats createdAt updatedAt\n      owner { id name }\n      members { role joinedAt user { id } }\n    }\n  }\n": types.TeamsCreateDocument,
    "\n  mutation TeamsUpdate($id: ID!, $input: UpdateTeamInput!) {\n    updateTeam(id: $id, input: $input) { id name description skills maxSize memberCount }\n  }\n": types.TeamsUpdateDocument,
    "\n  mutation TeamsRequest($teamId: ID!, $message: String) {\n    requestToJoin(teamId: $teamId, message: $message) { id status message decidedAt team { id } user { id } }\n  }\n": types.TeamsRequestDocument,
    "\n  mutation TeamsWithdraw($requestId: ID!) { withdrawJoinRequest(requestId: $requestId) { id status decidedAt } }\n": types.TeamsWithdrawDocument,
    "\n  mutation TeamsRespond($requestId: ID!, $accept: Boolean!) {\n    respondToJoinRequest(requestId: $requestId, accept: $accept) { id status decidedAt }\n  }\n": types.TeamsRespondDocument,
    "\n  mutation TeamsLeave($teamId: ID!) { leaveTeam(teamId: $teamId) }\n": types.TeamsLeaveDocument,
    "\n  mutation TeamsRemove($teamId: ID!, $userId: ID!) { removeMember(teamId: $teamId, userId: $userId) { id memberCount } }\n": types.TeamsRemoveDocument,
    "\n  mutation TeamsTransfer($teamId: ID!, $userId: ID!) {\n    transferTeamOwnership(teamId: $teamId, userId: $userId) { id owner { id } members { role user { id } } }\n  }\n": types.TeamsTransferDocument,
    "\n  mutation TeamsSetSkills($skills: [String!]!) { setMySkills(skills: $skills) { id skills } }\n": types.TeamsSetSkillsDocument,
    "\n  query TeamsGet($id: ID!, $status: JoinRequestStatus) {\n    team(id: $id) {\n      id name memberCount openSeats\n      owner { id }\n      members { role user { id } }\n      joinRequests(status: $status) { id status user { id } }\n    }\n  }\n": types.TeamsGetDocument,
    "\n  query TeamsList($first: Int, $after: String, $filter: TeamFilter) {\n    teams(first: $first, after: $after, filter: $filter) {\n      totalCount\n      edges { node { id name openSeats owner { id } members { user { id name } } } }\n      pageInfo { hasNextPage endCursor }\n    }\n  }\n": types.TeamsListDocument,
    "\n  query TeamsSuggested($first: Int) { suggestedTeams(first: $first) { id name skills } }\n": types.TeamsSuggestedDocument,
    "\n  query TeamsMyRequests($first: Int, $after: String) {\n    myJoinRequests(first: $first, after: $after) {\n      totalCount\n      edges { node { id status team { id } } }\n      pageInfo { hasNextPage endCursor }\n    }\n  }\n": types.TeamsMyRequestsDocument,
    "\n  query TeamsMe { me { id skills team { id name } } }\n": types.TeamsMeDocument,
    "\n  query Users($search: String, $first: Int, $after: String) {\n    users(search: $search, first: $first, after: $after) {\n      totalCount\n      edges { node { id email name role } }\n      pageInfo { hasNextPage endCursor }\n    }\n  }\n": types.UsersDocument,
    "\n  query UserById($id: ID!) { user(id: $id) { id email name role createdAt provisioningStatus } }\n": types.UserByIdDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation BacktestStrategy($input: CreateStrategyInput!) { createStrategy(input: $input) { id } }\n"): (typeof documents)["\n  mutation BacktestStrategy($input: CreateStrategyInput!) { createStrategy(input: $input) { id } }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RunBacktest($strategyId: ID!, $from: DateTime!, $to: DateTime!) {\n    runBacktest(strategyId: $strategyId, from: $from, to: $to) {\n      id status from to result { trades } failureReason createdAt finishedAt strategy { id }\n    }\n  }\n"): (typeof documents)["\n  mutation RunBacktest($strategyId: ID!, $from: DateTime!, $to: DateTime!) {\n    runBacktest(strategyId: $strategyId, from: $from, to: $to) {\n      id status from to result { trades } failureReason createdAt finishedAt strategy { id }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query GetBacktest($id: ID!) {\n    backtest(id: $id) { id status result { trades returnPct maxDrawdownPct finalEquity } failureReason finishedAt }\n  }\n"): (typeof documents)["\n  query GetBacktest($id: ID!) {\n    backtest(id: $id) { id status result { trades returnPct maxDrawdownPct finalEquity } failureReason finishedAt }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query StrategyBacktests($id: ID!, $first: Int, $after: String) {\n    strategy(id: $id) {\n      backtests(first: $first, after: $after) { totalCount edges { node { id status } } pageInfo { hasNextPage endCursor } }\n    }\n  }\n"): (typeof documents)["\n  query StrategyBacktests($id: ID!, $first: Int, $after: String) {\n    strategy(id: $id) {\n      backtests(first: $first, after: $after) { totalCount edges { node { id status } } pageInfo { hasNextPage endCursor } }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query MyQuotas { myQuotas { backtests { used limit resetsAt } } }\n"): (typeof documents)["\n  query MyQuotas { myQuotas { backtests { used limit resetsAt } } }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CrossRegister($input: RegisterInput!) { register(input: $input) { accessToken user { id } } }\n"): (typeof documents)["\n  mutation CrossRegister($input: RegisterInput!) { register(input: $input) { accessToken user { id } } }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query CrossMe { me { provisioningStatus accounts { id } } }\n"): (typeof documents)["\n  query CrossMe { me { provisioningStatus accounts { id } } }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CrossTransfer($input: TransferInput!) { transfer(input: $input) { id status } }\n"): (typeof documents)["\n  mutation CrossTransfer($input: TransferInput!) { transfer(input: $input) { id status } }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription CrossTransactionUpdated { transactionUpdated { id status amount } }\n"): (typeof documents)["\n  subscription CrossTransactionUpdated { transactionUpdated { id status amount } }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation FlashPurchase($input: PurchaseInput!) { purchase(input: $input) { id status quantity } }\n"): (typeof documents)["\n  mutation FlashPurchase($input: PurchaseInput!) { purchase(input: $input) { id status quantity } }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation InvCreateItem($input: CreateItemInput!) {\n    createItem(input: $input) { id sku name price currency stock limitPerUser }\n  }\n"): (typeof documents)["\n  mutation InvCreateItem($input: CreateItemInput!) {\n    createItem(input: $input) { id sku name price currency stock limitPerUser }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation InvRestock($itemId: ID!, $quantity: Int!) { restock(itemId: $itemId, quantity: $quantity) { id stock } }\n"): (typeof documents)["\n  mutation InvRestock($itemId: ID!, $quantity: Int!) { restock(itemId: $itemId, quantity: $quantity) { id stock } }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query InvItem($id: ID!) { item(id: $id) { id sku stock price currency limitPerUser } }\n"): (typeof documents)["\n  query InvItem($id: ID!) { item(id: $id) { id sku stock price currency limitPerUser } }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query InvItems($first: Int, $after: String) {\n    items(first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { node { id sku } } }\n  }\n"): (typeof documents)["\n  query InvItems($first: Int, $after: String) {\n    items(first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { node { id sku } } }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation InvPurchase($input: PurchaseInput!) {\n    purchase(input: $input) {\n      id quantity total status failureReason createdAt updatedAt\n      buyer { id }\n      item { id stock }\n    }\n  }\n"): (typeof documents)["\n  mutation InvPurchase($input: PurchaseInput!) {\n    purchase(input: $input) {\n      id quantity total status failureReason createdAt updatedAt\n      buyer { id }\n      item { id stock }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query InvOrder($id: ID!) {\n    order(id: $id) { id status quantity total failureReason createdAt updatedAt buyer { id } item { id sku } }\n  }\n"): (typeof documents)["\n  query InvOrder($id: ID!) {\n    order(id: $id) { id status quantity total failureReason createdAt updatedAt buyer { id } item { id sku } }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query InvMyOrders($first: Int, $after: String) {\n    myOrders(first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { node { id buyer { id } } } }\n  }\n"): (typeof documents)["\n  query InvMyOrders($first: Int, $after: String) {\n    myOrders(first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { node { id buyer { id } } } }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query MyAccounts { me { id provisioningStatus accounts { id currency balance available } } }\n"): (typeof documents)["\n  query MyAccounts { me { id provisioningStatus accounts { id currency balance available } } }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation OpenAccount($input: OpenAccountInput!) { openAccount(input: $input) { id currency balance available } }\n"): (typeof documents)["\n  mutation OpenAccount($input: OpenAccountInput!) { openAccount(input: $input) { id currency balance available } }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation Transfer($input: TransferInput!) {\n    transfer(input: $input) { id kind status amount currency memo from { id } to { id } failureReason settledAt }\n  }\n"): (typeof documents)["\n  mutation Transfer($input: TransferInput!) {\n    transfer(input: $input) { id kind status amount currency memo from { id } to { id } failureReason settledAt }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation Deposit($input: DepositInput!) { deposit(input: $input) { id kind status amount from { id } to { id } } }\n"): (typeof documents)["\n  mutation Deposit($input: DepositInput!) { deposit(input: $input) { id kind status amount from { id } to { id } } }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Account($id: ID!) {\n    account(id: $id) {\n      id balance available owner { id }\n      transactions(first: 10) { totalCount edges { node { id kind status amount } } }\n    }\n  }\n"): (typeof documents)["\n  query Account($id: ID!) {\n    account(id: $id) {\n      id balance available owner { id }\n      transactions(first: 10) { totalCount edges { node { id kind status amount } } }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query LedgerTransaction($id: ID!) { ledgerTransaction(id: $id) { id status amount settledAt } }\n"): (typeof documents)["\n  query LedgerTransaction($id: ID!) { ledgerTransaction(id: $id) { id status amount settledAt } }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Counterparty($id: ID!) { ledgerTransaction(id: $id) { id to { id balance } } }\n"): (typeof documents)["\n  query Counterparty($id: ID!) { ledgerTransaction(id: $id) { id to { id balance } } }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation LivePurchase($input: PurchaseInput!) { purchase(input: $input) { id status } }\n"): (typeof documents)["\n  mutation LivePurchase($input: PurchaseInput!) { purchase(input: $input) { id status } }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription LiveOrderUpdated($orderId: ID) {\n    orderUpdated(orderId: $orderId) { id status failureReason quantity total item { id } buyer { id } }\n  }\n"): (typeof documents)["\n  subscription LiveOrderUpdated($orderId: ID) {\n    orderUpdated(orderId: $orderId) { id status failureReason quantity total item { id } buyer { id } }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription LiveStockChanged($itemId: ID!) { stockChanged(itemId: $itemId) { id sku stock price limitPerUser } }\n"): (typeof documents)["\n  subscription LiveStockChanged($itemId: ID!) { stockChanged(itemId: $itemId) { id sku stock price limitPerUser } }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation LiveQuizCreate($input: CreateQuizInput!) { createQuiz(input: $input) { id } }"): (typeof documents)["mutation LiveQuizCreate($input: CreateQuizInput!) { createQuiz(input: $input) { id } }"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation LiveQuizQuestions($quizId: ID!, $questions: [QuizQuestionInput!]!) { addQuizQuestions(quizId: $quizId, questions: $questions) { id } }\n"): (typeof documents)["\n  mutation LiveQuizQuestions($quizId: ID!, $questions: [QuizQuestionInput!]!) { addQuizQuestions(quizId: $quizId, questions: $questions) { id } }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation LiveQuizPublish($id: ID!) { publishQuiz(id: $id) { id } }"): (typeof documents)["mutation LiveQuizPublish($id: ID!) { publishQuiz(id: $id) { id } }"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation LiveQuizStart($id: ID!) { startQuiz(id: $id) { id endsAt } }"): (typeof documents)["mutation LiveQuizStart($id: ID!) { startQuiz(id: $id) { id endsAt } }"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation LiveQuizEnd($id: ID!) { endQuiz(id: $id) { id status } }"): (typeof documents)["mutation LiveQuizEnd($id: ID!) { endQuiz(id: $id) { id status } }"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation LiveQuizRegister($quizId: ID!, $teamId: ID!) { registerForQuiz(quizId: $quizId, teamId: $teamId) { id } }"): (typeof documents)["mutation LiveQuizRegister($quizId: ID!, $teamId: ID!) { registerForQuiz(quizId: $quizId, teamId: $teamId) { id } }"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation LiveQuizRequest($quizId: ID!) { requestQuestion(quizId: $quizId, difficulty: EASY) { id } }\n"): (typeof documents)["\n  mutation LiveQuizRequest($quizId: ID!) { requestQuestion(quizId: $quizId, difficulty: EASY) { id } }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation LiveQuizSubmit($assignmentId: ID!, $choiceIndex: Int!) { submitAnswer(assignmentId: $assignmentId, choiceIndex: $choiceIndex) { status } }\n"): (typeof documents)["\n  mutation LiveQuizSubmit($assignmentId: ID!, $choiceIndex: Int!) { submitAnswer(assignmentId: $assignmentId, choiceIndex: $choiceIndex) { status } }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription LiveLeaderboard($quizId: ID!, $first: Int) {\n    leaderboardUpdated(quizId: $quizId, first: $first) { final quiz { id status } entries { rank points answered team { id } } }\n  }\n"): (typeof documents)["\n  subscription LiveLeaderboard($quizId: ID!, $first: Int) {\n    leaderboardUpdated(quizId: $quizId, first: $first) { final quiz { id status } entries { rank points answered team { id } } }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription LiveLeaderboardMine($quizId: ID!) {\n    leaderboardUpdated(quizId: $quizId) { final quiz { myEntry { rank points team { id } } } }\n  }\n"): (typeof documents)["\n  subscription LiveLeaderboardMine($quizId: ID!) {\n    leaderboardUpdated(quizId: $quizId) { final quiz { myEntry { rank points team { id } } } }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation QuizCreate($input: CreateQuizInput!) {\n    createQuiz(input: $input) {\n      id title status maxTeams registeredTeams durationSeconds questionTimeLimitSeconds startingPoints startedAt endsAt\n    }\n  }\n"): (typeof documents)["\n  mutation QuizCreate($input: CreateQuizInput!) {\n    createQuiz(input: $input) {\n      id title status maxTeams registeredTeams durationSeconds questionTimeLimitSeconds startingPoints startedAt endsAt\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation QuizAddQuestions($quizId: ID!, $questions: [QuizQuestionInput!]!) {\n    addQuizQuestions(quizId: $quizId, questions: $questions) {\n      id easy: questionsLeft(difficulty: EASY) medium: questionsLeft(difficulty: MEDIUM) all: questionsLeft\n    }\n  }\n"): (typeof documents)["\n  mutation QuizAddQuestions($quizId: ID!, $questions: [QuizQuestionInput!]!) {\n    addQuizQuestions(quizId: $quizId, questions: $questions) {\n      id easy: questionsLeft(difficulty: EASY) medium: questionsLeft(difficulty: MEDIUM) all: questionsLeft\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation QuizPublish($id: ID!) { publishQuiz(id: $id) { id status } }"): (typeof documents)["mutation QuizPublish($id: ID!) { publishQuiz(id: $id) { id status } }"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation QuizStart($id: ID!) { startQuiz(id: $id) { id status startedAt endsAt } }"): (typeof documents)["mutation QuizStart($id: ID!) { startQuiz(id: $id) { id status startedAt endsAt } }"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation QuizEnd($id: ID!) { endQuiz(id: $id) { id status endsAt } }"): (typeof documents)["mutation QuizEnd($id: ID!) { endQuiz(id: $id) { id status endsAt } }"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation QuizRegister($quizId: ID!, $teamId: ID!) { registerForQuiz(quizId: $quizId, teamId: $teamId) { id registeredTeams } }\n"): (typeof documents)["\n  mutation QuizRegister($quizId: ID!, $teamId: ID!) { registerForQuiz(quizId: $quizId, teamId: $teamId) { id registeredTeams } }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation QuizRequest($quizId: ID!, $difficulty: Difficulty!) {\n    requestQuestion(quizId: $quizId, difficulty: $difficulty) {\n      id status cost pointsAwarded assignedAt deadline answeredAt\n      quiz { id } team { id } question { id difficulty prompt choices }\n    }\n  }\n"): (typeof documents)["\n  mutation QuizRequest($quizId: ID!, $difficulty: Difficulty!) {\n    requestQuestion(quizId: $quizId, difficulty: $difficulty) {\n      id status cost pointsAwarded assignedAt deadline answeredAt\n      quiz { id } team { id } question { id difficulty prompt choices }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation QuizSubmit($assignmentId: ID!, $choiceIndex: Int!) {\n    submitAnswer(assignmentId: $assignmentId, choiceIndex: $choiceIndex) { id status cost pointsAwarded answeredAt }\n  }\n"): (typeof documents)["\n  mutation QuizSubmit($assignmentId: ID!, $choiceIndex: Int!) {\n    submitAnswer(assignmentId: $assignmentId, choiceIndex: $choiceIndex) { id status cost pointsAwarded answeredAt }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query QuizGet($id: ID!, $first: Int) {\n    quiz(id: $id) {\n      id status registeredTeams questionsLeft\n      leaderboard(first: $first) { rank points correctAnswers answered team { id name } }\n      myEntry { rank points correctAnswers answered team { id } }\n    }\n  }\n"): (typeof documents)["\n  query QuizGet($id: ID!, $first: Int) {\n    quiz(id: $id) {\n      id status registeredTeams questionsLeft\n      leaderboard(first: $first) { rank points correctAnswers answered team { id name } }\n      myEntry { rank points correctAnswers answered team { id } }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query QuizList($status: QuizStatus, $first: Int, $after: String) {\n    quizzes(status: $status, first: $first, after: $after) {\n      totalCount edges { node { id status } } pageInfo { hasNextPage endCursor }\n    }\n  }\n"): (typeof documents)["\n  query QuizList($status: QuizStatus, $first: Int, $after: String) {\n    quizzes(status: $status, first: $first, after: $after) {\n      totalCount edges { node { id status } } pageInfo { hasNextPage endCursor }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query QuizMyAssignments($quizId: ID!) { myAssignments(quizId: $quizId) { id status cost pointsAwarded question { id } } }\n"): (typeof documents)["\n  query QuizMyAssignments($quizId: ID!) { myAssignments(quizId: $quizId) { id status cost pointsAwarded question { id } } }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation QuizLeaveTeam($teamId: ID!) { leaveTeam(teamId: $teamId) }"): (typeof documents)["mutation QuizLeaveTeam($teamId: ID!) { leaveTeam(teamId: $teamId) }"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateStrategy($input: CreateStrategyInput!) {\n    createStrategy(input: $input) { id name asset description params owner { id } createdAt updatedAt }\n  }\n"): (typeof documents)["\n  mutation CreateStrategy($input: CreateStrategyInput!) {\n    createStrategy(input: $input) { id name asset description params owner { id } createdAt updatedAt }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation UpdateStrategy($id: ID!, $input: UpdateStrategyInput!) {\n    updateStrategy(id: $id, input: $input) { id name asset description params }\n  }\n"): (typeof documents)["\n  mutation UpdateStrategy($id: ID!, $input: UpdateStrategyInput!) {\n    updateStrategy(id: $id, input: $input) { id name asset description params }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation DeleteStrategy($id: ID!) { deleteStrategy(id: $id) }\n"): (typeof documents)["\n  mutation DeleteStrategy($id: ID!) { deleteStrategy(id: $id) }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query GetStrategy($id: ID!) { strategy(id: $id) { id name owner { id email } } }\n"): (typeof documents)["\n  query GetStrategy($id: ID!) { strategy(id: $id) { id name owner { id email } } }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ListStrategies($first: Int, $after: String, $filter: StrategyFilter) {\n    strategies(first: $first, after: $after, filter: $filter) {\n      totalCount\n      edges { cursor node { id name asset owner { id } } }\n      pageInfo { hasNextPage endCursor }\n    }\n  }\n"): (typeof documents)["\n  query ListStrategies($first: Int, $after: String, $filter: StrategyFilter) {\n    strategies(first: $first, after: $after, filter: $filter) {\n      totalCount\n      edges { cursor node { id name asset owner { id } } }\n      pageInfo { hasNextPage endCursor }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation LiveTransfer($input: TransferInput!) { transfer(input: $input) { id status } }\n"): (typeof documents)["\n  mutation LiveTransfer($input: TransferInput!) { transfer(input: $input) { id status } }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription TransactionUpdated($accountId: ID) {\n    transactionUpdated(accountId: $accountId) { id status amount from { id } to { id } settledAt }\n  }\n"): (typeof documents)["\n  subscription TransactionUpdated($accountId: ID) {\n    transactionUpdated(accountId: $accountId) { id status amount from { id } to { id } settledAt }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query SweptMe { me { provisioningStatus accounts { id } } }\n"): (typeof documents)["\n  query SweptMe { me { provisioningStatus accounts { id } } }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SendMoney($input: TransferInput!) { transfer(input: $input) { id status } }\n"): (typeof documents)["\n  mutation SendMoney($input: TransferInput!) { transfer(input: $input) { id status } }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation LiveCreateTeam($input: CreateTeamInput!) { createTeam(input: $input) { id } }\n"): (typeof documents)["\n  mutation LiveCreateTeam($input: CreateTeamInput!) { createTeam(input: $input) { id } }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation LiveUpdateTeam($id: ID!, $input: UpdateTeamInput!) { updateTeam(id: $id, input: $input) { id } }\n"): (typeof documents)["\n  mutation LiveUpdateTeam($id: ID!, $input: UpdateTeamInput!) { updateTeam(id: $id, input: $input) { id } }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation LiveRequestToJoin($teamId: ID!) { requestToJoin(teamId: $teamId) { id } }\n"): (typeof documents)["\n  mutation LiveRequestToJoin($teamId: ID!) { requestToJoin(teamId: $teamId) { id } }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation LiveRespond($requestId: ID!, $accept: Boolean!) { respondToJoinRequest(requestId: $requestId, accept: $accept) { id } }\n"): (typeof documents)["\n  mutation LiveRespond($requestId: ID!, $accept: Boolean!) { respondToJoinRequest(requestId: $requestId, accept: $accept) { id } }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation LiveRemoveMember($teamId: ID!, $userId: ID!) { removeMember(teamId: $teamId, userId: $userId) { id } }\n"): (typeof documents)["\n  mutation LiveRemoveMember($teamId: ID!, $userId: ID!) { removeMember(teamId: $teamId, userId: $userId) { id } }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription LiveTeamUpdated($teamId: ID!) {\n    teamUpdated(teamId: $teamId) { id description memberCount owner { id } members { user { id } } joinRequests { id } }\n  }\n"): (typeof documents)["\n  subscription LiveTeamUpdated($teamId: ID!) {\n    teamUpdated(teamId: $teamId) { id description memberCount owner { id } members { user { id } } joinRequests { id } }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription LiveJoinRequestUpdated { joinRequestUpdated { id status team { id } user { id } } }\n"): (typeof documents)["\n  subscription LiveJoinRequestUpdated { joinRequestUpdated { id status team { id } user { id } } }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation TeamsCreate($input: CreateTeamInput!) {\n    createTeam(input: $input) {\n      id name description skills maxSize memberCount openSeats createdAt updatedAt\n      owner { id name }\n      members { role joinedAt user { id } }\n    }\n  }\n"): (typeof documents)["\n  mutation TeamsCreate($input: CreateTeamInput!) {\n    createTeam(input: $input) {\n      id name description skills maxSize memberCount openSeats createdAt updatedAt\n      owner { id name }\n      members { role joinedAt user { id } }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation TeamsUpdate($id: ID!, $input: UpdateTeamInput!) {\n    updateTeam(id: $id, input: $input) { id name description skills maxSize memberCount }\n  }\n"): (typeof documents)["\n  mutation TeamsUpdate($id: ID!, $input: UpdateTeamInput!) {\n    updateTeam(id: $id, input: $input) { id name description skills maxSize memberCount }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation TeamsRequest($teamId: ID!, $message: String) {\n    requestToJoin(teamId: $teamId, message: $message) { id status message decidedAt team { id } user { id } }\n  }\n"): (typeof documents)["\n  mutation TeamsRequest($teamId: ID!, $message: String) {\n    requestToJoin(teamId: $teamId, message: $message) { id status message decidedAt team { id } user { id } }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation TeamsWithdraw($requestId: ID!) { withdrawJoinRequest(requestId: $requestId) { id status decidedAt } }\n"): (typeof documents)["\n  mutation TeamsWithdraw($requestId: ID!) { withdrawJoinRequest(requestId: $requestId) { id status decidedAt } }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation TeamsRespond($requestId: ID!, $accept: Boolean!) {\n    respondToJoinRequest(requestId: $requestId, accept: $accept) { id status decidedAt }\n  }\n"): (typeof documents)["\n  mutation TeamsRespond($requestId: ID!, $accept: Boolean!) {\n    respondToJoinRequest(requestId: $requestId, accept: $accept) { id status decidedAt }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation TeamsLeave($teamId: ID!) { leaveTeam(teamId: $teamId) }\n"): (typeof documents)["\n  mutation TeamsLeave($teamId: ID!) { leaveTeam(teamId: $teamId) }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation TeamsRemove($teamId: ID!, $userId: ID!) { removeMember(teamId: $teamId, userId: $userId) { id memberCount } }\n"): (typeof documents)["\n  mutation TeamsRemove($teamId: ID!, $userId: ID!) { removeMember(teamId: $teamId, userId: $userId) { id memberCount } }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation TeamsTransfer($teamId: ID!, $userId: ID!) {\n    transferTeamOwnership(teamId: $teamId, userId: $userId) { id owner { id } members { role user { id } } }\n  }\n"): (typeof documents)["\n  mutation TeamsTransfer($teamId: ID!, $userId: ID!) {\n    transferTeamOwnership(teamId: $teamId, userId: $userId) { id owner { id } members { role user { id } } }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation TeamsSetSkills($skills: [String!]!) { setMySkills(skills: $skills) { id skills } }\n"): (typeof documents)["\n  mutation TeamsSetSkills($skills: [String!]!) { setMySkills(skills: $skills) { id skills } }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query TeamsGet($id: ID!, $status: JoinRequestStatus) {\n    team(id: $id) {\n      id name memberCount openSeats\n      owner { id }\n      members { role user { id } }\n      joinRequests(status: $status) { id status user { id } }\n    }\n  }\n"): (typeof documents)["\n  query TeamsGet($id: ID!, $status: JoinRequestStatus) {\n    team(id: $id) {\n      id name memberCount openSeats\n      owner { id }\n      members { role user { id } }\n      joinRequests(status: $status) { id status user { id } }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query TeamsList($first: Int, $after: String, $filter: TeamFilter) {\n    teams(first: $first, after: $after, filter: $filter) {\n      totalCount\n      edges { node { id name openSeats owner { id } members { user { id name } } } }\n      pageInfo { hasNextPage endCursor }\n    }\n  }\n"): (typeof documents)["\n  query TeamsList($first: Int, $after: String, $filter: TeamFilter) {\n    teams(first: $first, after: $after, filter: $filter) {\n      totalCount\n      edges { node { id name openSeats owner { id } members { user { id name } } } }\n      pageInfo { hasNextPage endCursor }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query TeamsSuggested($first: Int) { suggestedTeams(first: $first) { id name skills } }\n"): (typeof documents)["\n  query TeamsSuggested($first: Int) { suggestedTeams(first: $first) { id name skills } }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query TeamsMyRequests($first: Int, $after: String) {\n    myJoinRequests(first: $first, after: $after) {\n      totalCount\n      edges { node { id status team { id } } }\n      pageInfo { hasNextPage endCursor }\n    }\n  }\n"): (typeof documents)["\n  query TeamsMyRequests($first: Int, $after: String) {\n    myJoinRequests(first: $first, after: $after) {\n      totalCount\n      edges { node { id status team { id } } }\n      pageInfo { hasNextPage endCursor }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query TeamsMe { me { id skills team { id name } } }\n"): (typeof documents)["\n  query TeamsMe { me { id skills team { id name } } }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Users($search: String, $first: Int, $after: String) {\n    users(search: $search, first: $first, after: $after) {\n      totalCount\n      edges { node { id email name role } }\n      pageInfo { hasNextPage endCursor }\n    }\n  }\n"): (typeof documents)["\n  query Users($search: String, $first: Int, $after: String) {\n    users(search: $search, first: $first, after: $after) {\n      totalCount\n      edges { node { id email name role } }\n      pageInfo { hasNextPage endCursor }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query UserById($id: ID!) { user(id: $id) { id email name role createdAt provisioningStatus } }\n"): (typeof documents)["\n  query UserById($id: ID!) { user(id: $id) { id email name role createdAt provisioningStatus } }\n"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;