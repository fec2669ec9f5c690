-- +goose Up
-- Group workout sessions (modules/groups). A session is scheduled until
-- starts_at, live until it ends (ended_at set by the host, an admin, its
-- ends_at or its last participant leaving), then ended. A meeting opens as
-- an invite-only session (meeting_id) for its attendees.
CREATE TABLE groups_sessions (
    id           TEXT PRIMARY KEY,
    host_id      TEXT NOT NULL,
    title        TEXT NOT NULL,
    workout_type TEXT NOT NULL,
    capacity     INTEGER NOT NULL,
    visibility   TEXT NOT NULL,
    starts_at    TIMESTAMP NOT NULL,
    ends_at      TIMESTAMP,
    ended_at     TIMESTAMP,
    end_reason   TEXT NOT NULL DEFAULT '',
    meeting_id   TEXT,
    created_by   TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL
);
-- Lists by state walk (starts_at, id); ended lists and the sweeper filter
-- on ended_at.
CREATE INDEX groups_sessions_open ON groups_sessions (starts_at, id) WHERE ended_at IS NULL;
CREATE INDEX groups_sessions_ended ON groups_sessions (starts_at, id) WHERE ended_at IS NOT NULL;
CREATE INDEX groups_sessions_host ON groups_sessions (host_id);
CREATE UNIQUE INDEX groups_sessions_meeting ON groups_sessions (meeting_id) WHERE meeting_id IS NOT NULL;

-- Who may join an invite-only session besides its host.
CREATE TABLE groups_invites (
    session_id TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    invited_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (session_id, user_id)
);
CREATE INDEX groups_invites_user ON groups_invites (user_id);

-- Meetings (NEUFIT /meet). external_key makes a meeting scheduled by
-- another module (a booking saga's step) happen once per key.
CREATE TABLE groups_meetings (
    id           TEXT PRIMARY KEY,
    organizer_id TEXT NOT NULL,
    title        TEXT NOT NULL,
    start_time   TIMESTAMP NOT NULL,
    end_time     TIMESTAMP NOT NULL,
    session_id   TEXT NOT NULL,
    external_key TEXT,
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL
);
CREATE INDEX groups_meetings_organizer ON groups_meetings (organizer_id);
CREATE UNIQUE INDEX groups_meetings_key ON groups_meetings (external_key) WHERE external_key IS NOT NULL;

CREATE TABLE groups_meeting_attendees (
    meeting_id TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    PRIMARY KEY (meeting_id, user_id)
);
CREATE INDEX groups_meeting_attendees_user ON groups_meeting_attendees (user_id);

-- +goose Down
DROP TABLE groups_meeting_attendees;
DROP TABLE groups_meetings;
DROP TABLE groups_invites;
DROP TABLE groups_sessions;
