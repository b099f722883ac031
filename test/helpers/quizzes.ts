import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { AppServices } from '../../src/core/context.js';
import { createBuyers } from '../harness/users.js';

/** Someone signed in: inserted, with a signed token (no password hashing), so that hundreds stay cheap. */
export interface Player {
  accessToken: string;
  user: { id: string };
}

export interface TestTeam {
  id: string;
  owner: Player;
  members: Player[];
}

export const players = async (services: AppServices, count: number): Promise<Player[]> =>
  (await createBuyers(services, count)).map((buyer) => ({ accessToken: buyer.accessToken, user: { id: buyer.id } }));

/** Runs one SQL statement on `databaseUrl`. */
export async function sqlOn<T extends pg.QueryResultRow>(databaseUrl: string, text: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return (await client.query<T>(text, values)).rows;
  } finally {
    await client.end();
  }
}

/**
 * `count` teams of `size` players (the owner first), inserted as the teams
 * migration has them: the teams domain's own tests cover forming teams
 * through the API; quizzes need many of them fast.
 */
export async function insertTeams(services: AppServices, databaseUrl: string, count: number, size = 1): Promise<TestTeam[]> {
  const people = await players(services, count * size);
  const made = Array.from({ length: count }, (_, i) => {
    const group = people.slice(i * size, (i + 1) * size);
    return { id: randomUUID(), owner: group[0]!, members: group.slice(1) };
  });
  await sqlOn(
    databaseUrl,
    `INSERT INTO teams (id, name, max_size, member_count, updated_at)
     SELECT id, 'Quiz team ' || id, greatest(2, $2::int), $2::int, now() FROM unnest($1::text[]) AS id`,
    [made.map((team) => team.id), size],
  );
  const rows = made.flatMap((team) => [
    [team.id, team.owner.user.id, 'OWNER'],
    ...team.members.map((member) => [team.id, member.user.id, 'MEMBER']),
  ]);
  await sqlOn(
    databaseUrl,
    `INSERT INTO team_members (team_id, user_id, role) SELECT * FROM unnest($1::text[], $2::text[], $3::"TeamRole"[])`,
    [rows.map((row) => row[0]), rows.map((row) => row[1]), rows.map((row) => row[2])],
  );
  return made;
}

export type Difficulty = 'EASY' | 'MEDIUM' | 'HARD';

/** `count` questions of `difficulty` whose correct choice is 1 (of a, b, c). */
export const questionsOf = (difficulty: Difficulty, count: number) =>
  Array.from({ length: count }, (_, i) => ({ difficulty, prompt: `${difficulty} question ${i}`, choices: ['a', 'b', 'c'], answerIndex: 1 }));
