/**
 * The teams scenario's ceiling: a bare Fastify route (no logger, default JSON
 * body parser) that answers the driver's browse query — `teams(first: 20,
 * filter)` with owner, members and, when the query asks, totalCount — with
 * the page's SQL run by pg: one statement for the page with its members and
 * their names (as the API's Prisma reads it, relations joined), one count.
 * No GraphQL, no JWT verification, no Prisma. So the API's browse req/s over
 * this route's is the share of the machine the API's own work leaves to the
 * browse page.
 *
 * `node --import tsx bench/teams-bare.ts` with DATABASE_URL and PORT set;
 * prints `listening <port>` once ready. The pool has the size of the API's
 * (createDb's default), so both wait on PostgreSQL alike.
 */
import Fastify from 'fastify';
import pg from 'pg';
import { listenUntilSignalled } from './bare-listen.js';

const POOL_SIZE = 10;
const FIRST = 20;

interface BrowseBody {
  query?: string;
  variables?: { filter?: { search?: string; skill?: string; hasOpenSeats?: boolean } };
}

interface Row {
  id: string;
  name: string;
  skills: string[];
  open_seats: number;
  created_at: Date;
  members: { role: 'OWNER' | 'MEMBER'; user: { name: string } }[];
}

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: POOL_SIZE });
pool.on('error', () => {});

/** LIKE's wildcards escaped, as the API's search matches literally. */
const literal = (text: string) => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

function where(filter: NonNullable<BrowseBody['variables']>['filter'] = {}): { sql: string; values: unknown[] } {
  const clauses: string[] = [];
  const values: unknown[] = [];
  const search = filter.search?.trim();
  if (search) {
    values.push(literal(search));
    clauses.push(`(t.name ILIKE $${values.length} OR t.description ILIKE $${values.length})`);
  }
  if (filter.skill) {
    values.push(filter.skill.trim().toLowerCase());
    clauses.push(`t.skills @> ARRAY[$${values.length}]::text[]`);
  }
  if (filter.hasOpenSeats === true) clauses.push('t.member_count < t.max_size');
  if (filter.hasOpenSeats === false) clauses.push('t.member_count >= t.max_size');
  return { sql: clauses.length ? `WHERE ${clauses.join(' AND ')}` : '', values };
}

const app = Fastify({ logger: false });
app.post('/graphql', async (request) => {
  const body = request.body as BrowseBody;
  const filter = where(body.variables?.filter);
  const page = pool.query<Row>(
    `SELECT t.id, t.name, t.skills, t.max_size - t.member_count AS open_seats, t.created_at,
            COALESCE(m.members, '[]') AS members
       FROM teams t
       LEFT JOIN LATERAL (
         SELECT json_agg(json_build_object('role', tm.role, 'user', json_build_object('name', u.name))
                         ORDER BY tm.joined_at, tm.user_id) AS members
           FROM team_members tm JOIN users u ON u.id = tm.user_id
          WHERE tm.team_id = t.id) m ON true
       ${filter.sql}
      ORDER BY t.created_at DESC, t.id DESC
      LIMIT ${FIRST + 1}`,
    filter.values,
  );
  const count = body.query?.includes('totalCount')
    ? pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM teams t ${filter.sql}`, filter.values)
    : undefined;
  const [{ rows }, counted] = await Promise.all([page, count]);
  const nodes = rows.slice(0, FIRST);
  const last = nodes.at(-1);
  return {
    data: {
      teams: {
        edges: nodes.map((row) => ({
          node: {
            id: row.id,
            name: row.name,
            openSeats: row.open_seats,
            skills: row.skills,
            owner: row.members.find((member) => member.role === 'OWNER')?.user ?? null,
            members: row.members,
          },
        })),
        pageInfo: {
          hasNextPage: rows.length > FIRST,
          endCursor: last ? Buffer.from(JSON.stringify([last.created_at.toISOString(), last.id])).toString('base64url') : null,
        },
        ...(counted ? { totalCount: counted.rows[0]!.n } : {}),
      },
    },
  };
});

await listenUntilSignalled(app, pool);
