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
// POST /groups/sessions/{session_id}/invites,
// GET /groups/sessions/{session_id}/summary; POST /meetings,
// GET/PUT/DELETE /meetings/{meeting_id}. A session or meeting the caller may
// not see answers 404; one they may see but not change answers 403.
//
// Live protocol (live*.go), on the realtime hub's /api/v1/ws: join_session
// {session_id, last_seq?} (refused with an error frame, connection kept, for
// a session the caller may not see, that is full, not started or ended, or
// whose host blocked them), leave_session, chat_message (live_chat.go),
// exercise_update with the leaderboard (live_exercise.go), vote_start and
// vote_cast (live_votes.go, host only to start), timer_start, timer_pause,
// timer_reset (live_timer.go, host only), media_state and signal
// (live_media.go). Every message is decoded strictly, with the HTTP API's
// error codes (httpx.DecodeStrict), and a user_id in it must be the
// caller's. The joiner gets session_state (host, participants longest
// present first, the last 50 chat lines, open votes with their own ballot,
// the timer); the room gets participant_joined, participant_left {reason},
// host_changed (the longest present participant when the host leaves),
// chat_message, vote_opened/vote_tally/vote_closed, timer_state,
// media_state, leaderboard and session_ended, each with the room's seq.
// signal goes to its one addressee and exercise_update to the host and the
// sender (to the host, updates that follow the last one within 10 ms are
// held and sent together as exercise_updates: a class finishing a set at
// once would overflow the host's send queue), as addressed room events (realtime.Hub.PublishRoomTo): in the
// room's order, replayed on resume, a gap in everyone else's seq. The
// leaderboard and vote tallies are coalesced (coalesce in live_exercise.go):
// whichever replica counts a window's key first sends one at the window's
// end, so a class of 50 sending an update a second makes 50 frames a second
// to the host and one leaderboard a second to each participant, not 2,500.
// A socket that drops leaves its participant away: a rejoin with last_seq
// within the grace period (groups.grace, 30 s) replays what was missed and
// resumes silently; otherwise they leave (reason connection_lost). A
// session empty for the grace period ends (end_reason empty).
//
// Live state (who is present on which replica, the host, votes, the timer)
// is one document per session in platform/cache changed only through
// cache.Update, so with Redis every replica shares it and no change is lost
// to a race. The frequent messages keep out of it: the recent chat is a
// document of its own (the whole chat is in groups_chat), and each
// participant's exercise totals are one more, so an update touches a few
// hundred bytes and never races a classmate's. Chat and exercise updates
// only read the state, and a replica decodes it again only when its bytes
// changed (live_sockets.go). Leaderboards and vote tallies are coalesced in
// wall-clock windows offset per session, so that a hundred classes do not
// all send theirs at the same instant. Each replica with a hub writes a heartbeat
// key every 10 s (live_replica.go). The cron job groups.end_due (every
// minute) records the end of sessions past their ends_at (until it runs they
// read as ended), applies the grace period, closes votes and timers past due
// on behalf of replicas that are gone, writes off the sockets of replicas
// whose heartbeat expired, and writes summaries a stopped replica left
// unwritten.
//
// The end (end.go): whichever replica ends a session freezes its state
// (Ended: later changes are refused), builds the summary (stints per
// participant, exercise totals, heart rate, vote results) and writes it to
// groups_summaries, with groups_summary_members and one groups.session_workout
// job per participant present at least MinWorkout, in one transaction; the
// job records the workout through the Workouts interface (the activity
// module, idempotent per session and user). The transcript is read from
// groups_chat with the summary. EraseAccount (the users module's
// AccountEraser) cancels the user's meetings, ends the sessions they host,
// and deletes their chat lines (also from live sessions' recent chat),
// invites, attendance and part in summaries; a session still running when
// they were erased leaves them out of its summary when it ends (the
// summary checks every participant's account, and again once it is
// stored, for an erasure that raced its writing).
//
// Feed (changes.go): SessionChanges gives the reporting warehouse (the
// etl module, through main.go) every ended session's attendance as its
// summary holds it — workout type, start and end, and per participant the
// first join, the last leave and the seconds present — after each write:
// when it is written at the end and whenever an erasure rewrites it
// without someone (groups_summaries.updated_at, walked by the index
// groups_summaries_changes from a changefeed.Cursor). Summaries are never
// deleted, so the feed has no tombstones today.
//
// Needs (deps.go): the users module (Exists) to check invitees, attendees
// and, at the end, participants; the activity module's workout catalog and RecordGroupWorkout;
// the job queue; the realtime hub and the cache.
package groups
