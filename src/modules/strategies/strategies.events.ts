/** A backtest's status changed (the worker started, finished or failed it). Subscribers re-read the row. */
export interface BacktestUpdatedEvent {
  id: string;
  status: 'PENDING' | 'RUNNING' | 'COMPLETED' | 'FAILED';
}

declare module '../../core/events.js' {
  interface AppEvents {
    backtestUpdated: BacktestUpdatedEvent;
  }
}

export const STRATEGY_TOPICS = ['backtestUpdated'] as const;
