/** A quiz's standings may have moved (a registration, a question taken, an answer judged) or it ended; watchers re-read. */
interface LeaderboardChangedEvent {
  quizId: string;
}

declare module '../../core/events.js' {
  interface AppEvents {
    leaderboardChanged: LeaderboardChangedEvent;
  }
}

export const QUIZ_TOPICS = ['leaderboardChanged'] as const;
