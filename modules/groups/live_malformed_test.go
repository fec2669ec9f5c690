package groups_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fitloop/fitloop/modules/groups"
)

// malformedCase is one refused client message of TestLiveMalformedEveryMessage.
type malformedCase struct {
	name string
	host bool   // sent by the host (host-only types); otherwise by participant A
	raw  string // the frame, as sent
	want string // the error code once the sender has joined
	// early is the error code before join_session; "" means the decoding
	// codes as they are and not_joined for everything else.
	early string
}

// malformedEarly are the codes a message gets before any look at the
// session: the hub's, the strict decoder's and user_id's.
var malformedEarly = map[string]bool{
	"bad_message": true, "unknown_type": true, "invalid_json": true,
	"invalid_type": true, "unknown_field": true, "user_mismatch": true,
}

// malformedMsg is {"type":typ, k1:v1, …}; the values are JSON as written.
func malformedMsg(typ string, kv ...string) string {
	var b strings.Builder
	b.WriteString(`{"type":` + malformedQ(typ))
	for i := 0; i+1 < len(kv); i += 2 {
		b.WriteString("," + malformedQ(kv[i]) + ":" + kv[i+1])
	}
	b.WriteString("}")
	return b.String()
}

// malformedQ is s as a JSON string.
func malformedQ(s string) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// malformedCases covers every client message type: wrong JSON types for
// each field, missing and null required fields, values past every limit,
// unknown fields, someone else's user_id and frames that are not JSON.
func malformedCases(sessionID, hostID, aID, otherID, absentID string) []malformedCase {
	q := malformedQ
	long := func(n int) string { return q(strings.Repeat("x", n)) }
	msg := malformedMsg
	var cs []malformedCase
	add := func(host bool, typ string, rows ...[3]string) { // {name, raw, want}
		for _, r := range rows {
			cs = append(cs, malformedCase{name: typ + "/" + r[0], host: host, raw: r[1], want: r[2]})
		}
	}
	mismatch := func(typ string, kv ...string) [][3]string {
		return [][3]string{
			{"user_id_of_someone_else", msg(typ, append(kv, "user_id", q(otherID))...), "user_mismatch"},
			{"user_id_not_a_string", msg(typ, append(kv, "user_id", `7`)...), "invalid_type"},
			{"unknown_field", msg(typ, append(kv, "extra", `true`)...), "unknown_field"},
			{"truncated_json", strings.TrimSuffix(msg(typ, kv...), "}") + `,"`, "bad_message"},
			{"trailing_garbage", msg(typ, kv...) + ` {}`, "bad_message"},
			{"type_not_a_string", strings.Replace(msg(typ, kv...), q(typ), `["`+typ+`"]`, 1), "bad_message"},
		}
	}

	// The hub's own refusals: not an object with a type.
	add(false, "frame", [][3]string{
		{"not_json", `hello`, "bad_message"},
		{"empty_object", `{}`, "bad_message"},
		{"null", `null`, "bad_message"},
		{"array", `[{"type":"chat_message","message":"hi"}]`, "bad_message"},
		{"string", `"chat_message"`, "bad_message"},
		{"type_empty", `{"type":""}`, "bad_message"},
		{"type_number", `{"type":5}`, "bad_message"},
		{"unknown_type", `{"type":"chat"}`, "unknown_type"},
	}...)

	join := func(kv ...string) string { return msg(groups.MsgJoin, kv...) }
	sid := q(sessionID)
	add(false, groups.MsgJoin, append([][3]string{
		{"no_session_id", join(), "validation_failed"},
		{"session_id_null", join("session_id", `null`), "validation_failed"},
		{"session_id_empty", join("session_id", `""`), "validation_failed"},
		{"session_id_number", join("session_id", `5`), "invalid_type"},
		{"session_id_object", join("session_id", `{"id":`+sid+`}`), "invalid_type"},
		{"session_id_unknown", join("session_id", q("01890000-0000-7000-8000-000000000000")), "session_not_found"},
		{"session_id_nul", join("session_id", `"\u0000"`), "session_not_found"}, // reaches the store as it is
		{"last_seq_string", join("session_id", sid, "last_seq", `"3"`), "invalid_type"},
		{"last_seq_negative", join("session_id", sid, "last_seq", `-1`), "invalid_type"},
		{"last_seq_fraction", join("session_id", sid, "last_seq", `1.5`), "invalid_type"},
		{"last_seq_over_uint64", join("session_id", sid, "last_seq", `18446744073709551616`), "invalid_type"},
	}, mismatch(groups.MsgJoin, "session_id", sid)...)...)
	for i := range cs {
		if strings.HasPrefix(cs[i].name, groups.MsgJoin+"/") {
			cs[i].early = cs[i].want // joining needs no join first
		}
	}

	add(false, groups.MsgLeave, mismatch(groups.MsgLeave)...)

	chat := func(kv ...string) string { return msg(groups.MsgChat, kv...) }
	add(false, groups.MsgChat, append([][3]string{
		{"no_message", chat(), "validation_failed"},
		{"message_null", chat("message", `null`), "validation_failed"},
		{"message_empty", chat("message", `""`), "validation_failed"},
		{"message_blank", chat("message", `" \t\n "`), "validation_failed"},
		{"message_nul", chat("message", `"hi\u0000there"`), "validation_failed"},
		{"message_number", chat("message", `5`), "invalid_type"},
		{"message_bool", chat("message", `true`), "invalid_type"},
		{"message_array", chat("message", `["hi"]`), "invalid_type"},
		{"message_object", chat("message", `{"text":"hi"}`), "invalid_type"},
		{"message_1001_chars", chat("message", long(groups.MaxChat+1)), "message_too_long"},
		{"message_1001_runes", chat("message", q(strings.Repeat("é", groups.MaxChat+1))), "message_too_long"},
	}, mismatch(groups.MsgChat, "message", `"hi"`)...)...)

	ex := func(kv ...string) string { return msg(groups.MsgExercise, kv...) }
	sq := q("Squat")
	add(false, groups.MsgExercise, append([][3]string{
		{"no_exercise", ex("reps", `10`), "validation_failed"},
		{"exercise_blank", ex("exercise", `"   "`), "validation_failed"},
		{"exercise_65_chars", ex("exercise", long(groups.MaxExerciseName+1)), "validation_failed"},
		{"exercise_two_lines", ex("exercise", `"Squat\nJump"`), "validation_failed"},
		{"exercise_number", ex("exercise", `5`), "invalid_type"},
		{"exercise_null", ex("exercise", `null`), "validation_failed"},
		{"reps_-1", ex("exercise", sq, "reps", `-1`), "validation_failed"},
		{"reps_1001", ex("exercise", sq, "reps", `1001`), "validation_failed"},
		{"reps_string", ex("exercise", sq, "reps", `"10"`), "invalid_type"},
		{"reps_fraction", ex("exercise", sq, "reps", `10.5`), "invalid_type"},
		{"reps_huge", ex("exercise", sq, "reps", `1e30`), "invalid_type"},
		{"weight_kg_-1", ex("exercise", sq, "reps", `5`, "weight_kg", `-1`), "validation_failed"},
		{"weight_kg_1001", ex("exercise", sq, "reps", `5`, "weight_kg", `1001`), "validation_failed"},
		{"weight_kg_1000.001", ex("exercise", sq, "reps", `5`, "weight_kg", `1000.001`), "validation_failed"},
		{"weight_kg_string", ex("exercise", sq, "weight_kg", `"40"`), "invalid_type"},
		{"weight_kg_out_of_float_range", ex("exercise", sq, "weight_kg", `1e999`), "invalid_type"},
		{"heart_rate_24", ex("exercise", sq, "heart_rate", `24`), "validation_failed"},
		{"heart_rate_251", ex("exercise", sq, "heart_rate", `251`), "validation_failed"},
		{"heart_rate_fraction", ex("exercise", sq, "heart_rate", `120.5`), "invalid_type"},
		{"heart_rate_array", ex("exercise", sq, "heart_rate", `[120]`), "invalid_type"},
	}, mismatch(groups.MsgExercise, "exercise", sq)...)...)

	vote := func(kv ...string) string { return msg(groups.MsgVoteStart, kv...) }
	qn, two, secs := q("Next block?"), `["Legs","Core"]`, `60`
	opts := func(n int) string {
		o := make([]string, n)
		for i := range o {
			o[i] = string(rune('A' + i))
		}
		b, _ := json.Marshal(o)
		return string(b)
	}
	add(true, groups.MsgVoteStart, append([][3]string{
		{"no_question", vote("options", two, "closes_in_s", secs), "validation_failed"},
		{"question_blank", vote("question", `"  "`, "options", two, "closes_in_s", secs), "validation_failed"},
		{"question_201_chars", vote("question", long(groups.MaxQuestion+1), "options", two, "closes_in_s", secs), "validation_failed"},
		{"question_two_lines", vote("question", `"Legs?\nCore?"`, "options", two, "closes_in_s", secs), "validation_failed"},
		{"question_number", vote("question", `1`, "options", two, "closes_in_s", secs), "invalid_type"},
		{"no_options", vote("question", qn, "closes_in_s", secs), "validation_failed"},
		{"options_null", vote("question", qn, "options", `null`, "closes_in_s", secs), "validation_failed"},
		{"options_empty", vote("question", qn, "options", `[]`, "closes_in_s", secs), "validation_failed"},
		{"options_1", vote("question", qn, "options", opts(1), "closes_in_s", secs), "validation_failed"},
		{"options_7", vote("question", qn, "options", opts(groups.MaxOptions+1), "closes_in_s", secs), "validation_failed"},
		{"options_a_string", vote("question", qn, "options", `"Legs,Core"`, "closes_in_s", secs), "invalid_type"},
		{"options_numbers", vote("question", qn, "options", `[1,2]`, "closes_in_s", secs), "invalid_type"},
		{"options_an_object", vote("question", qn, "options", `{"a":"Legs"}`, "closes_in_s", secs), "invalid_type"},
		{"option_101_chars", vote("question", qn, "options", `["Legs",`+long(groups.MaxOption+1)+`]`, "closes_in_s", secs), "validation_failed"},
		{"option_blank", vote("question", qn, "options", `["Legs"," "]`, "closes_in_s", secs), "validation_failed"},
		{"option_null", vote("question", qn, "options", `["Legs",null]`, "closes_in_s", secs), "validation_failed"},
		{"option_repeated", vote("question", qn, "options", `["Legs","legs "]`, "closes_in_s", secs), "validation_failed"},
		{"no_closes_in_s", vote("question", qn, "options", two), "validation_failed"},
		{"closes_in_s_0", vote("question", qn, "options", two, "closes_in_s", `0`), "validation_failed"},
		{"closes_in_s_3601", vote("question", qn, "options", two, "closes_in_s", `3601`), "validation_failed"},
		{"closes_in_s_string", vote("question", qn, "options", two, "closes_in_s", `"60"`), "invalid_type"},
		{"closes_in_s_fraction", vote("question", qn, "options", two, "closes_in_s", `1.5`), "invalid_type"},
	}, mismatch(groups.MsgVoteStart, "question", qn, "options", two, "closes_in_s", secs)...)...)
	add(false, groups.MsgVoteStart, [3]string{"by_a_participant",
		vote("question", qn, "options", two, "closes_in_s", secs), "not_host"})

	cast := func(kv ...string) string { return msg(groups.MsgVoteCast, kv...) }
	vid := q("01890000-0000-7000-8000-000000000001")
	add(false, groups.MsgVoteCast, append([][3]string{
		{"no_vote_id", cast("option", `"Legs"`), "validation_failed"},
		{"no_option", cast("vote_id", vid), "validation_failed"},
		{"option_null", cast("vote_id", vid, "option", `null`), "validation_failed"},
		{"vote_id_number", cast("vote_id", `1`, "option", `"Legs"`), "invalid_type"},
		{"option_number", cast("vote_id", vid, "option", `0`), "invalid_type"},
		{"option_array", cast("vote_id", vid, "option", `["Legs"]`), "invalid_type"},
		{"unknown_vote", cast("vote_id", vid, "option", `"Legs"`), "vote_not_found"},
	}, mismatch(groups.MsgVoteCast, "vote_id", vid, "option", `"Legs"`)...)...)

	timer := func(kv ...string) string { return msg(groups.MsgTimerStart, kv...) }
	add(true, groups.MsgTimerStart, [][3]string{
		{"duration_s_0", timer("duration_s", `0`), "validation_failed"},
		{"duration_s_-30", timer("duration_s", `-30`), "validation_failed"},
		{"duration_s_86401", timer("duration_s", `86401`), "validation_failed"},
		{"label_101_chars", timer("duration_s", `30`, "label", long(groups.MaxTimerLabel+1)), "validation_failed"},
		{"label_two_lines", timer("duration_s", `30`, "label", `"Squats\r\nRest"`), "validation_failed"},
	}...)
	add(true, groups.MsgTimerStart, append([][3]string{
		{"duration_s_string", timer("duration_s", `"30"`), "invalid_type"},
		{"duration_s_fraction", timer("duration_s", `1.5`), "invalid_type"},
		{"duration_s_over_int64", timer("duration_s", `1e20`), "invalid_type"},
		{"label_number", timer("duration_s", `30`, "label", `5`), "invalid_type"},
		{"no_duration_and_no_timer", timer(), "timer_not_set"},
	}, mismatch(groups.MsgTimerStart, "duration_s", `30`)...)...)
	add(false, groups.MsgTimerStart, [3]string{"by_a_participant", timer("duration_s", `30`), "not_host"})
	for _, typ := range []string{groups.MsgTimerPause, groups.MsgTimerReset} {
		add(true, typ, append([][3]string{
			{"no_timer", msg(typ), "timer_not_set"},
			{"duration_s", msg(typ, "duration_s", `30`), "unknown_field"},
		}, mismatch(typ)...)...)
		add(false, typ, [3]string{"by_a_participant", msg(typ), "not_host"})
	}

	media := func(kv ...string) string { return msg(groups.MsgMedia, kv...) }
	add(false, groups.MsgMedia, append([][3]string{
		{"nothing", media(), "validation_failed"},
		{"no_mic", media("camera", `true`), "validation_failed"},
		{"no_camera", media("mic", `true`), "validation_failed"},
		{"camera_null", media("camera", `null`, "mic", `true`), "validation_failed"},
		{"camera_string", media("camera", `"on"`, "mic", `true`), "invalid_type"},
		{"mic_number", media("camera", `true`, "mic", `1`), "invalid_type"},
	}, mismatch(groups.MsgMedia, "camera", `true`, "mic", `false`)...)...)

	sig := func(kv ...string) string { return msg(groups.MsgSignal, kv...) }
	to, offer, sdp := q(hostID), q("offer"), `{"sdp":"v=0"}`
	add(false, groups.MsgSignal, append([][3]string{
		{"kind_bogus", sig("to_user_id", to, "kind", `"bogus"`, "data", sdp), "validation_failed"},
		{"kind_upper_case", sig("to_user_id", to, "kind", `"OFFER"`, "data", sdp), "validation_failed"},
		{"no_kind", sig("to_user_id", to, "data", sdp), "validation_failed"},
		{"kind_number", sig("to_user_id", to, "kind", `1`, "data", sdp), "invalid_type"},
		{"no_data", sig("to_user_id", to, "kind", offer), "validation_failed"},
		{"data_null", sig("to_user_id", to, "kind", offer, "data", `null`), "validation_failed"},
		{"data_over_32KiB", sig("to_user_id", to, "kind", offer, "data", long(groups.MaxSignalBytes)), "signal_too_large"},
		{"no_to_user_id", sig("kind", offer, "data", sdp), "validation_failed"},
		{"to_self", sig("to_user_id", q(aID), "kind", offer, "data", sdp), "validation_failed"},
		{"to_user_id_number", sig("to_user_id", `1`, "kind", offer, "data", sdp), "invalid_type"},
		{"to_someone_absent", sig("to_user_id", q(absentID), "kind", offer, "data", sdp), "peer_not_found"},
	}, mismatch(groups.MsgSignal, "to_user_id", to, "kind", offer, "data", sdp)...)...)
	return cs
}

// Every client message type, malformed every way: each is refused with its
// exact code before joining and after, the socket answers a ping after
// each, and the room is none the worse for the lot.
func TestLiveMalformedEveryMessage(t *testing.T) {
	t.Parallel()
	e := newLiveEnv(t)
	s, host, a, b := e.class(t)

	cases := malformedCases(s.ID, e.host.ID, e.a.ID, e.b.ID, e.c.ID)
	seen := map[string]bool{}
	for _, c := range cases {
		seen[strings.Split(c.name, "/")[0]] = true
	}
	for _, typ := range []string{groups.MsgJoin, groups.MsgLeave, groups.MsgChat, groups.MsgExercise, groups.MsgVoteStart,
		groups.MsgVoteCast, groups.MsgTimerStart, groups.MsgTimerPause, groups.MsgTimerReset, groups.MsgMedia, groups.MsgSignal} {
		require.True(t, seen[typ], "no case for %s", typ)
	}
	for _, c := range cases {
		require.Less(t, len(c.raw), 60<<10, "%s: under the hub's frame limit", c.name)
	}

	t.Run("refused", func(t *testing.T) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				early := c.early
				if early == "" {
					early = "not_joined"
					if malformedEarly[c.want] {
						early = c.want
					}
				}
				u := e.a
				if c.host {
					u = e.host
				}
				ws := e.dial(t, u) // a second socket of the user's, of its own
				malformedRefused(ws, c.raw, early)
				ws.join(s.ID)
				malformedRefused(ws, c.raw, c.want)
				malformedRefused(ws, c.raw, c.want) // and again: refusals change nothing
			})
		}
	})

	// The room is not broken: a line from another participant reaches
	// everyone, nobody left, the host is still the host, and a newcomer's
	// snapshot shows none of the refused changes.
	b.send(map[string]any{"type": groups.MsgChat, "message": "still standing"})
	for _, c := range []*client{host, a, b} {
		f, before := c.until(groups.EvChat)
		line := data[groups.ChatMessage](t, f)
		assert.Equal(t, "still standing", line.Message)
		assert.Equal(t, e.b.ID, line.UserID)
		for _, x := range before {
			assert.NotContains(t, []string{"error", groups.EvLeft, groups.EvHost, groups.EvVoteOpened,
				groups.EvTimerState, groups.EvMedia, groups.EvSignal, groups.EvExercise, groups.EvExercises}, x.Type, "%s: %s", c.u.ID, x.Data)
		}
	}
	late := e.dial(t, e.c)
	snap := late.join(s.ID)
	assert.Equal(t, e.host.ID, snap.HostID)
	ids := make([]string, len(snap.Participants))
	for i, p := range snap.Participants {
		ids[i] = p.UserID
		assert.False(t, p.Camera || p.Mic || p.Away, "%+v", p)
	}
	assert.ElementsMatch(t, []string{e.host.ID, e.a.ID, e.b.ID, e.c.ID}, ids)
	assert.Empty(t, snap.Votes)
	assert.Nil(t, snap.Timer)
	require.Len(t, snap.Chat, 1)
	assert.Equal(t, "still standing", snap.Chat[0].Message)

	// And the host's powers still work for everyone.
	host.send(map[string]any{"type": groups.MsgVoteStart, "question": "Still here?", "options": []string{"Yes", "No"}, "closes_in_s": 3600})
	for _, c := range []*client{host, a, b, late} {
		assert.Equal(t, "Still here?", data[groups.VoteOpened](t, c.next(groups.EvVoteOpened)).Question)
	}
}

// malformedRefused sends raw and expects exactly one error frame, with
// code, and a socket that still answers a ping.
func malformedRefused(c *client, raw, code string) {
	c.tb.Helper()
	c.sendRaw(raw)
	f := c.next("error")
	require.Equal(c.tb, code, f.Code, "%.200s: %s", raw, f.Message)
	c.send(map[string]any{"type": "ping"})
	_, before := c.until("pong")
	for _, x := range before {
		require.NotEqual(c.tb, "error", x.Type, "%.200s: a second answer %s: %s", raw, x.Code, x.Message)
	}
}
