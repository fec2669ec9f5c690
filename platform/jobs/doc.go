// Package jobs is fitloop's durable job queue, kept in the operational
// database (table jobs_queue).
//
// A module enqueues work with Enqueue inside its own transaction, so the job
// exists exactly when the business change that asked for it committed: a job
// whose enqueue rolled back never runs. A Queue runs the handlers registered
// per kind, with a pool of workers per kind sized from config (jobs.workers,
// overridden per kind by jobs.concurrency).
//
// Workers claim due jobs with a lease: on PostgreSQL with FOR UPDATE SKIP
// LOCKED, so replicas never claim the same job; on SQLite inside the single
// writer's transaction, which makes the claim atomic. A running handler's
// lease is extended by a heartbeat; a job whose worker died is claimed again
// once its lease expires. Completion is fenced by the lease owner and the
// attempt number, so a worker that lost its lease cannot overwrite the result
// of the one that took over.
//
// Delivery is at least once: a handler may run again after a crash, a lost
// lease or a failed completion write, so handlers must be idempotent (key
// their side effects by job ID or by something in the payload).
//
// States: queued → running → succeeded; a failed attempt goes to failed with
// run_at set by exponential backoff with full jitter (and is claimed again
// when run_at passes), or to dead after its last attempt or when the handler
// returns Permanent(err). Retry puts a failed or dead job back in the queue.
//
// Deduplication: a job may carry a dedupe key, unique among unfinished jobs
// (queued, running, failed). Enqueueing a key that is already pending returns
// the pending job's ID without error and adds nothing; once that job has
// succeeded or died the key may be enqueued again.
package jobs
