// Package users owns accounts, credentials, sessions, profiles, biometrics,
// goals and personal API tokens.
//
// Tables: users_accounts, users_credentials (one row per password, newest is
// current; expires after auth.password_max_age), users_sessions (every access
// token names one; revoking the row revokes the token), users_api_tokens
// (SHA-256 of the secret only), users_biometrics, users_weight_history,
// users_goals.
//
// Routes (under /api/v1): POST /users/register, POST /users/login;
// GET|PUT|DELETE /auth/session, GET /auth/sessions,
// DELETE /auth/sessions/{session_id}; GET|PUT|DELETE /users/{user_id},
// PUT /users/{user_id}/password, GET|PUT /users/{user_id}/biometrics,
// POST|GET /users/{user_id}/goals, GET|PUT|DELETE /users/{user_id}/goals/{goal_id},
// POST|GET /users/{user_id}/tokens, DELETE /users/{user_id}/tokens/{token_id};
// GET /admin/users, PUT /admin/users/{user_id}.
//
// Authorization: private objects (full profile, biometrics, goals, tokens) are
// visible to their owner and admins; anyone else gets 404. Token and session
// management needs a signed-in session, never an API token. A session whose
// password expired may only change the password and manage sessions.
//
// Needs: ProgressSource (goal progress; the activity module provides it, Nop
// until then). Provides: Service, and auth.Authenticator for the middleware.
package users
