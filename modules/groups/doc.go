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
// The cron job groups.end_due (every minute) records the end of sessions
// past their ends_at; until it runs they already read as ended. The live
// protocol over the realtime hub (join, chat, votes, timer, signaling) and
// session summaries are not built yet.
//
// Needs (deps.go): the users module (Exists) to check invitees and
// attendees; the activity module's workout catalog.
package groups
