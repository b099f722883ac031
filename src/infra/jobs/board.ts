import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import type { Queue } from 'bullmq';
import type { Queues } from './producer.js';

/**
 * bull-board's view of the queues: an adapter per producer Queue, on whichever
 * backend they use. Throws QueuesNotStartedError before the queues are started.
 */
export function boardQueues(queues: Pick<Queues, 'bullQueues'>): BullMQAdapter[] {
  return queues.bullQueues().map((queue) => new BullMQAdapter(queue as unknown as Queue));
}
