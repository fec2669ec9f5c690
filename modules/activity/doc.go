// Package activity is where users' activity data lives: workouts (live,
// started and ended, or logged afterwards), health-metric samples (steps,
// calories, heart rate, distance, active minutes, weight, sleep) with their
// rollups, and the series, statistics and reports built on them.
//
// Routes (under /api/v1): GET /workout-types; POST /workouts/start,
// POST /workouts/{session_id}/end, GET/PUT/DELETE /workouts/{session_id};
// POST and GET /users/{user_id}/workouts; POST /users/{user_id}/metrics
// (batches of up to activity.max_samples, also for personal API tokens with
// the metrics:write scope), GET /users/{user_id}/metrics and
// GET /users/{user_id}/metrics/{metric}; GET /users/{user_id}/statistics,
// GET /users/{user_id}/reports/weekly, .../monthly and .../download (CSV or
// JSON streamed in constant memory); GET /users/{user_id}/notifications,
// POST .../notifications/{notification_id}/read and .../read-all.
//
// Goals (the users module owns them): GoalProgress measures one in its
// current period with its pace (the users module's ProgressSource); GoalSet
// records the planner's baseline once per saga step key (its Planner). New
// data wakes a checker that posts "goal achieved" notifications at once;
// the cron job activity.goal_alerts (hourly) repeats that check and sends
// behind-pace alerts: at most 3 a user's day, 3 hours apart, never in the
// user's quiet hours. Notifications (activity_notifications) and plans
// (activity_goal_plans) live in the operational database whatever the
// store; dedupe keys make each one happen once across replicas. Workouts
// carry a version so an edit based on a stale read never undoes another
// write (an edit racing the end of the workout is re-read and re-applied).
//
// Storage: a Store interface with two implementations sharing one contract
// suite — SQL through the main database (tables activity_workouts,
// activity_workout_tombstones, activity_samples, activity_metric_slots and
// activity_metric_hours; the default) and MongoDB (activity.store: mongo).
// On SQL the 15-minute and hourly rollups are updated in the transaction
// that stores their samples, and series aggregate them per bucket in SQL;
// on MongoDB the daily rollup documents are a cache checked against the
// samples' count per slot. Either way series stay exact.
//
// Change feed: WorkoutChanges (changes.go) hands the etl module the
// workouts created, changed or deleted after a (time, id) cursor, in that
// order, a page at a time — the warehouse never reads the tables. Every
// write stamps the workout's updated_at with the time of the write; a
// deletion, one or an account's erasure, leaves a tombstone (id, user,
// time): on SQL in the deleting transaction, on MongoDB right after a
// single delete (a crash between the two loses it) and before an erasure's
// deletes. Creating a workout under a tombstoned id (a group workout
// recorded again) removes the tombstone. MetricChanges (changes.go) hands
// it the 15-minute rollups the same way, each with its totals as they are
// now, after a (time, user|metric|slot) cursor: every sample write stamps
// the slots it adds to — on SQL activity_metric_slots.changed_at in the
// writing transaction; on MongoDB a document per slot in
// activity_metric_slot_changes, written before the samples — so late
// samples of an old day come through; rollups only grow, so there are no
// tombstones (an erasure reaches the warehouse through the users feed).
// Stamps come from each replica's clock before commit, so a consumer keeps
// its watermark a few minutes behind the present.
//
// Needs (deps.go): the users module's Basics (time zone, weight for
// calories, quiet hours) and ActiveGoals; Push (the realtime hub) for live
// notifications. Provides: EraseAccount for the users.delete_account saga,
// GoalProgress and GoalSet for the users module, RecordGroupWorkout and
// KnownWorkoutType for the groups module, WorkoutChanges and MetricChanges
// for the etl module, the GoalAlerts cron job.
package activity
