import { beforeAll, describe, expect, inject, it } from 'vitest';
import { graphql } from './gql/index.js';
import { type GraphQLResponse, type Session, useTestApp } from './helpers/app.js';
import { eventually, type LiveResult, metric, sseSubscribe, subscriptionsRunning, wsClient } from './helpers/live.js';
import { sleep } from './harness/wait.js';

/**
 * teamUpdated and joinRequestUpdated against a real listening server, over
 * graphql-ws and SSE, on both event buses.
 */

const CreateTeam = graphql(`
  mutation LiveCreateTeam($input: CreateTeamInput!) { createTeam(input: $input) { id } }
`);
const UpdateTeam = graphql(`
  mutation LiveUpdateTeam($id: ID!, $input: UpdateTeamInput!) { updateTeam(id: $id, input: $input) { id } }
`);
const RequestToJoin = graphql(`
  mutation LiveRequestToJoin($teamId: ID!) { requestToJoin(teamId: $teamId) { id } }
`);
const Respond = graphql(`
  mutation LiveRespond($requestId: ID!, $accept: Boolean!) { respondToJoinRequest(requestId: $requestId, accept: $accept) { id } }
`);
const RemoveMember = graphql(`
  mutation LiveRemoveMember($teamId: ID!, $userId: ID!) { removeMember(teamId: $teamId, userId: $userId) { id } }
`);
const TeamUpdated = graphql(`
  subscription LiveTeamUpdated($teamId: ID!) {
    teamUpdated(teamId: $teamId) { id description memberCount owner { id } members { user { id } } joinRequests { id } }
  }
`);
const JoinRequestUpdated = graphql(`
  subscription LiveJoinRequestUpdated { joinRequestUpdated { id status team { id } user { id } } }
`);

type TeamEvent = { teamUpdated: { id: string; description: string | null; memberCount: number; joinRequests: { id: string }[] } };
type RequestEvent = { joinRequestUpdated: { id: string; status: string } };

const bearer = (session: Session) => `Bearer ${session.accessToken}`;
const codesOf = (results: LiveResult[]) => results.flatMap((result) => result.errors ?? []).map((error) => error.extensions?.code);

function data<T>(result: GraphQLResponse<T>): T {
  if (!result.data) throw new Error(JSON.stringify(result.errors));
  return result.data;
}

describe.each(['redis', 'postgres'] as const)('live teams on the %s event bus', (backend) => {
  const t = useTestApp(backend === 'redis' ? { REDIS_URL: inject('redisUrl') } : {});
  let baseUrl = '';
  beforeAll(async () => {
    baseUrl = await t.app.start();
  });

  const newTeam = async (owner: Session) =>
    data(await t.gql(CreateTeam, { input: { name: `Live ${backend} ${Math.random().toString(36).slice(2)}`, maxSize: 3 } }, owner.accessToken))
      .createTeam.id;

  it('teamUpdated: the team now, then one event after each change; a removed member’s stream ends', async () => {
    const [owner, joiner, outsider] = await Promise.all([t.registerUser(), t.registerUser(), t.registerUser()]);
    const teamId = await newTeam(owner);
    const ownerClient = wsClient(baseUrl, bearer(owner));
    const joinerClient = wsClient(baseUrl, bearer(joiner));
    const outsiderClient = wsClient(baseUrl, bearer(outsider));
    try {
      const ownerFeed = ownerClient.subscribe(TeamUpdated, { teamId });
      const [first] = (await ownerFeed.waitForResults(1)) as Array<LiveResult<TeamEvent>>;
      expect(first!.data?.teamUpdated).toMatchObject({ id: teamId, memberCount: 1, description: null, joinRequests: [] });

      data(await t.gql(UpdateTeam, { id: teamId, input: { description: 'changed' } }, owner.accessToken));
      const request = data(await t.gql(RequestToJoin, { teamId }, joiner.accessToken)).requestToJoin;
      const afterRequest = (await ownerFeed.waitForResults(3)) as Array<LiveResult<TeamEvent>>;
      expect(afterRequest[1]!.data?.teamUpdated.description).toBe('changed');
      // The owner's subscription sees the new request (its joinRequests field).
      expect(afterRequest[2]!.data?.teamUpdated.joinRequests).toEqual([{ id: request.id }]);

      data(await t.gql(Respond, { requestId: request.id, accept: true }, owner.accessToken));
      const accepted = (await ownerFeed.waitForResults(4)) as Array<LiveResult<TeamEvent>>;
      expect(accepted[3]!.data?.teamUpdated).toMatchObject({ memberCount: 2, joinRequests: [] });

      // The new member subscribes, then is removed: its stream ends; the owner's goes on.
      const joinerFeed = joinerClient.subscribe(TeamUpdated, { teamId });
      await joinerFeed.waitForResults(1);
      data(await t.gql(RemoveMember, { teamId, userId: joiner.user.id }, owner.accessToken));
      expect(await joinerFeed.ended).toEqual({ completed: true });
      expect(joinerFeed.results).toHaveLength(1);
      const removed = (await ownerFeed.waitForResults(5)) as Array<LiveResult<TeamEvent>>;
      expect(removed[4]!.data?.teamUpdated.memberCount).toBe(1);

      // Anyone who is not a member cannot subscribe.
      const outsiderFeed = outsiderClient.subscribe(TeamUpdated, { teamId });
      expect(await outsiderFeed.ended).toEqual({ completed: true });
      expect(codesOf(outsiderFeed.results)).toEqual(['NOT_FOUND']);
      expect(ownerFeed.results.flatMap((result) => result.errors ?? [])).toEqual([]);
    } finally {
      await Promise.all([ownerClient.dispose(), joinerClient.dispose(), outsiderClient.dispose()]);
    }
  });

  it('teamUpdated for a team that does not exist is NOT_FOUND; anonymously UNAUTHENTICATED', async () => {
    const user = await t.registerUser();
    const client = wsClient(baseUrl, bearer(user));
    const anonymous = wsClient(baseUrl);
    try {
      const missing = client.subscribe(TeamUpdated, { teamId: '0190a0a0-0000-7000-8000-000000000000' });
      expect(await missing.ended).toEqual({ completed: true });
      expect(codesOf(missing.results)).toEqual(['NOT_FOUND']);
      const anon = anonymous.subscribe(TeamUpdated, { teamId: '0190a0a0-0000-7000-8000-000000000000' });
      expect(await anon.ended).toEqual({ completed: true });
      expect(codesOf(anon.results)).toEqual(['UNAUTHENTICATED']);
    } finally {
      await Promise.all([client.dispose(), anonymous.dispose()]);
    }
  });

  it('joinRequestUpdated reaches the requester and the owner — PENDING, then ACCEPTED — and no one else', async () => {
    const [owner, requester, outsider] = await Promise.all([t.registerUser(), t.registerUser(), t.registerUser()]);
    const teamId = await newTeam(owner);
    const clients = [wsClient(baseUrl, bearer(owner)), wsClient(baseUrl, bearer(outsider))];
    try {
      const [wsBefore, sseBefore] = await Promise.all([
        metric(baseUrl, 'switchyard_subscriptions{transport="ws"}'),
        metric(baseUrl, 'switchyard_subscriptions{transport="sse"}'),
      ]);
      const ownerFeed = clients[0]!.subscribe(JoinRequestUpdated, {});
      const outsiderFeed = clients[1]!.subscribe(JoinRequestUpdated, {});
      // The requester listens over SSE.
      const requesterFeed = await sseSubscribe(baseUrl, JoinRequestUpdated, {}, bearer(requester));
      expect(requesterFeed.status).toBe(200);
      await subscriptionsRunning(baseUrl, 'ws', wsBefore + 2);
      await subscriptionsRunning(baseUrl, 'sse', sseBefore + 1);

      const request = data(await t.gql(RequestToJoin, { teamId }, requester.accessToken)).requestToJoin;
      // A status superseded by the time a subscriber reads the row is skipped (the contract): PENDING first, then the answer.
      for (const feed of [ownerFeed, requesterFeed]) await eventually(() => feed.results.length >= 1, 'PENDING', 20_000);
      data(await t.gql(Respond, { requestId: request.id, accept: true }, owner.accessToken));
      for (const feed of [ownerFeed, requesterFeed]) {
        await eventually(() => feed.results.length >= 2, 'PENDING and ACCEPTED', 20_000);
        expect((feed.results as Array<LiveResult<RequestEvent>>).map((result) => result.data?.joinRequestUpdated)).toEqual([
          { id: request.id, status: 'PENDING', team: { id: teamId }, user: { id: requester.user.id } },
          { id: request.id, status: 'ACCEPTED', team: { id: teamId }, user: { id: requester.user.id } },
        ]);
      }
      await sleep(300);
      expect(outsiderFeed.results).toEqual([]);
      requesterFeed.stop();
    } finally {
      await Promise.all(clients.map((client) => client.dispose()));
    }
  });
});
