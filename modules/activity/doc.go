// Package activity is where users' activity data lives: workouts (live,
// started and ended, or logged afterwards), health-metric samples (steps,
// calories, heart rate, distance, active minutes, weight, sleep) with their
// 15-minute rollups, and the series, statistics and reports built on them.
//
// Routes (under /api/v1): GET /workout-types; POST /workouts/start,
// POST /workouts/{session_id}/end, GET/PUT/DELETE /workouts/{session_id};
// POST and GET /users/{user_id}/workouts; POST /users/{user_id}/metrics
// (batches of up to activity.max_samples, also for personal API tokens with
// the metrics:write scope), GET /users/{user_id}/metrics and
// GET /users/{user_id}/metrics/{metric}.
//
// Storage: a Store interface with two implementations sharing one contract
// suite — SQL through the main database (tables activity_workouts,
// activity_samples, activity_metric_slots; the default) and MongoDB
// (activity.store: mongo). On SQL the rollups are updated in the
// transaction that stores their samples; on MongoDB the daily rollup
// documents are a cache checked against the samples' count per slot. Either
// way series stay exact.
//
// Needs (deps.go): the users module's Basics (time zone and weight for
// calories). Provides: EraseAccount for the users.delete_account saga.
package activity
