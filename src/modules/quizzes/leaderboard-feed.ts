import type { AppServices, Viewer } from '../../core/context.js';
import type { AppEventBus } from '../../core/events.js';
import type { Quiz } from '../../generated/prisma/client.js';
import { throttledErrorLog } from '../../infra/async.js';
import { CoalescingFeed, listenForChanges } from '../../infra/events/coalescing-feed.js';
import { getQuiz, MAX_LEADERBOARD_SIZE, type StandingRow, standings } from './quizzes.service.js';

/**
 * leaderboardUpdated for every watcher of this process: the standings now,
 * then after changes — one read of the quiz and its first MAX_LEADERBOARD_SIZE
 * standings per quiz per LEADERBOARD_INTERVAL_MS at most, shared by every
 * watcher (infra/events/coalescing-feed.ts: the same object for all of them,
 * so that one execution per event and `first` serves them), never skipping the
 * latest. When the quiz has ended, the standings come with final: true, and
 * the stream completes once that is taken.
 */

/** At most 4 leaderboard events a second per quiz. */
export const LEADERBOARD_INTERVAL_MS = 250;

export interface Board {
  quiz: Quiz;
  /** The first MAX_LEADERBOARD_SIZE; each subscription takes its `first`. */
  entries: StandingRow[];
  final: boolean;
}

const sameStandings = (a: StandingRow[], b: StandingRow[]) =>
  a.length === b.length &&
  a.every(
    (row, i) =>
      row.teamId === b[i]!.teamId &&
      row.points === b[i]!.points &&
      row.correctAnswers === b[i]!.correctAnswers &&
      row.answered === b[i]!.answered,
  );

const feeds = new WeakMap<AppEventBus, CoalescingFeed<Board>>();

function feedOf(services: AppServices): CoalescingFeed<Board> {
  let feed = feeds.get(services.pubsub);
  if (!feed) {
    // Only the process-wide parts: the feed outlives the request that created it.
    const log = services.log.child({ component: 'leaderboard-feed' });
    const outage = throttledErrorLog(log, 'leaderboard-feed', 'leaderboardUpdated: the database is unreachable; retrying', {
      stack: false,
      perKind: false,
    });
    const { db, pubsub } = services;
    const created = new CoalescingFeed<Board>({
      intervalMs: LEADERBOARD_INTERVAL_MS,
      read: async (quizId) => {
        const [quiz, entries] = await Promise.all([
          db.quiz.findUnique({ where: { id: quizId } }),
          standings({ db }, quizId, MAX_LEADERBOARD_SIZE),
        ]);
        return quiz ? { quiz, entries, final: quiz.status === 'ENDED' } : null;
      },
      same: (board, before) =>
        board.final === before.final &&
        board.quiz.updatedAt.getTime() === before.quiz.updatedAt.getTime() &&
        sameStandings(board.entries, before.entries),
      isFinal: (board) => board.final,
      log,
      outage: (error, { key }) => outage(error, { quizId: key }),
    });
    listenForChanges(pubsub, 'leaderboardChanged', (event) => event.quizId, created, log);
    feeds.set(pubsub, (feed = created));
  }
  return feed;
}

/** The leaderboardUpdated stream of a quiz the viewer may see (NOT_FOUND at once otherwise). */
export async function leaderboardUpdates(services: AppServices, viewer: Viewer, quizId: string): Promise<AsyncIterable<Board>> {
  await getQuiz(services, viewer, quizId, { select: { id: true } });
  return feedOf(services).stream(quizId);
}
