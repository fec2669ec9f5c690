// Package users owns accounts, credentials, sessions, profiles, biometrics,
// goals and personal API tokens.
//
// Tables: users_accounts, users_credentials (one row per password, newest is
// current; expires after auth.password_max_age), users_sessions (every access
// token names one; revoking the row revokes the token), users_api_tokens
// (SHA-256 of the secret only), users_biometrics, users_weight_history,
// users_goals, users_goal_tombstones (one row per deleted goal, for the goal
// feed).
//
// Routes (under /api/v1): POST /users/register, POST /users/login;
// GET|PUT|DELETE /auth/session, GET /auth/sessions,
// DELETE /auth/sessions/{session_id}; GET|PUT|DELETE /users/{user_id},
// PUT /users/{user_id}/password, GET|PUT /users/{user_id}/biometrics,
// POST|GET /users/{user_id}/goals, GET|PUT|DELETE /users/{user_id}/goals/{goal_id},
// POST|GET /users/{user_id}/tokens, DELETE /users/{user_id}/tokens/{token_id};
// GET /admin/users, PUT /admin/users/{user_id}.
//
// Profiles carry quiet hours (quiet_hours_start, quiet_hours_end: "HH:MM",
// 00:00–23:59, in the user's time zone; 22:00–07:00 by default) when no
// notification should reach the user. The span may cross midnight; equal
// bounds mean no quiet hours. Other modules read them through Basics and
// GoalSpec.
//
// Profiles carry leaderboard_opt_in (false until the user sets it): only
// users who opted in appear on the leaderboard analytics serves from the
// reporting warehouse, which learns the setting from the account change
// feed (AccountChange.LeaderboardOptIn); erasure resets it.
//
// Goals show current_progress and pace (expected progress by now, the
// projected date of reaching the target, on_track), all computed by the
// ProgressSource from a GoalSpec (the goal, the user's time zone and quiet
// hours).
//
// Authorization: private objects (full profile, biometrics, goals, tokens) are
// visible to their owner and admins; anyone else gets 404. Token and session
// management needs a signed-in session, never an API token. A session whose
// password expired may only change the password and manage sessions.
//
// For other modules, Basics (a live account's time zone, quiet hours and
// weight) and ActiveGoals (active goals of live accounts, one user's or
// everyone's, in goal id order with keyset paging; users_goals_active indexes
// the walk across users) check no caller: modules call them after their own
// authorization.
//
// Change feeds: AccountChanges and GoalChanges (also methods of Module) give
// the reporting warehouse the rows written strictly after a cursor (the
// ChangedAt and id of the last change taken), in that order, at most 10,000
// a page, each as it is now: a row written twice shows once, at its last
// write. They check no caller. Accounts carry no email, username, name, bio
// or biometrics; a closed or erased account is Deleted (its row stays, a
// tombstone). Goals deleted by their owner, by the set_goal saga's
// compensation or with the account leave a row in users_goal_tombstones,
// written by the deleting transaction. Every write stamps updated_at with
// the module's clock inside its transaction. On SQLite's single writer the
// stamps follow commit order, so resuming from the last cursor misses
// nothing; on PostgreSQL concurrent transactions may commit out of stamp
// order, so a consumer resumes a margin (minutes) before its last cursor
// and applies changes idempotently by id. users_accounts_changes,
// users_goals_changes and users_goal_tombstones_changes index the walks.
//
// Caching: public profiles and Basics answers live in the shared Cache (per
// replica memory, or Redis shared by replicas) as JSON for at most 30 s.
// Every change of what they carry (profile, time zone, quiet hours,
// biometrics, role, disabling, closing, reopening or erasing an account)
// deletes the user's entries once committed, so the replica that made it
// never answers stale; another replica's refill racing the change can keep
// the old answer until the TTL. Answers other than found (user_not_found)
// are never cached.
//
// Seeding: Module.Seed (for `fitloop dev seed`, never routed) writes
// realistic accounts, biometrics and goals straight through the store in
// batches, all with the password SeedPassword ("fitloop-demo-password"):
// sign in as seed-user-00001@example.com (SeedEmail(1)) and so on. A second
// run continues the numbering. Seeded goals are planned like the
// users.set_goal saga's steps would, without a saga per goal.
//
// Needs: ProgressSource (goal progress and pace; the activity module provides
// it, Nop until then: 0, no pace, not on track). Provides: Service, and
// auth.Authenticator for the middleware.
package users
