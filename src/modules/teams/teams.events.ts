/** Something about a team changed (members, ownership, details, its requests); subscribers re-read it. */
interface TeamUpdatedEvent {
  teamId: string;
}

/** A join request was made or decided: for its requester and for the owner of its team at that moment. */
export interface JoinRequestUpdatedEvent {
  id: string;
  userId: string;
  ownerId: string;
  status: 'PENDING' | 'ACCEPTED' | 'REJECTED' | 'WITHDRAWN';
}

declare module '../../core/events.js' {
  interface AppEvents {
    teamUpdated: TeamUpdatedEvent;
    joinRequestUpdated: JoinRequestUpdatedEvent;
  }
}

export const TEAM_TOPICS = ['teamUpdated', 'joinRequestUpdated'] as const;
