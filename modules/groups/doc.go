// Package groups runs live group workout sessions and meetings.
//
// A session (groups_sessions) has a host (its creator), a workout type from
// the activity catalog, a capacity (2–1000, default 50) and a visibility:
// public (anyone signed in may see and join it) or invite (the host,
// invitees in groups_invites and admins). Its state follows from its times:
// scheduled before starts_at, live from then until it ends, ended once
// ended_at is set (by its host, an admin, its ends_at, or its last
// participant leaving).
//
// A meeting (groups_meetings, attendees in groups_meeting_attendees) is an
// invite-only session hosted by its organizer whose invitees are its
// attendees: it opens as a live session at start_time for them only and ends
// at end_time. Moving or extending a meeting, adding or removing attendees,
// change its session in the same transaction. Deleting a meeting deletes its
// session unless it has begun; a live one ends. Other modules (schedule)
// open meetings through the Meetings interface: ScheduleMeeting is
// idempotent per key (groups_meetings.external_key), CancelMeeting is its
// compensation.
//
// Routes (under /api/v1, all signed in): POST and GET /groups/sessions,
// GET /groups/sessions/{session_id}, POST /groups/sessions/{session_id}/end,
// POST /groups/sessions/{session_id}/invites; POST /meetings,
// GET/PUT/DELETE /meetings/{meeting_id}. A session or meeting the caller may
// not see answers 404; one they may see but not change answers 403.
//
// Live protocol (live*.go), on the realtime hub's /api/v1/ws: join_session
// {session_id, last_seq?} (refused with an error frame, connection kept, for
// a session the caller may not see, that is full, not started or ended, or
// whose host blocked them), leave_session, chat_message {message} (1–1,000
// characters, 10 per 10 s per user). Every message is decoded strictly, with
// the HTTP API's error codes (httpx.DecodeStrict), and a user_id in it must
// be the caller's. The joiner gets session_state (host,
// participants longest present first, the last 50 chat lines); the room gets
// participant_joined, participant_left {reason}, host_changed (the longest
// present participant when the host leaves), chat_message and
// session_ended, each with the room's seq. A socket that drops leaves its
// participant away: a rejoin with last_seq within the grace period (30 s)
// replays what was missed and resumes silently; otherwise they leave
// (reason connection_lost). A session empty for the grace period ends
// (end_reason empty).
//
// Live state (who is present, the host, recent chat) is one document per
// session in platform/cache changed only through cache.Update, so with
// Redis every replica shares it and no change is lost to a race; events go
// through the hub's rooms, ordered by seq across replicas. Chat is also
// stored whole in groups_chat. The cron job groups.end_due (every minute)
// records the end of sessions past their ends_at (until it runs they read
// as ended) and applies the grace period on behalf of replicas that are
// gone. Votes, the shared timer, exercise updates, signaling and session
// summaries are the next step.
//
// Needs (deps.go): the users module (Exists) to check invitees and
// attendees; the activity module's workout catalog.
package groups
