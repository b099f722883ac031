/** A transaction's status changed (or it was created PENDING). */
export interface TransactionUpdatedEvent {
  id: string;
  status: 'PENDING' | 'COMPLETED' | 'FAILED';
  fromAccountId: string | null;
  toAccountId: string;
  /** Owners of the two accounts: subscribers filter on them without a database read. */
  fromOwnerId: string | null;
  toOwnerId: string;
}

declare module '../../core/events.js' {
  interface AppEvents {
    transactionUpdated: TransactionUpdatedEvent;
  }
}

export const LEDGER_TOPICS = ['transactionUpdated'] as const;
