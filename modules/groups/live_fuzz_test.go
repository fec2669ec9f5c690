package groups_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"

	"github.com/fitloop/fitloop/modules/groups"
)

// FuzzLiveFrame sends one fuzzed text frame to a live session and checks
// that the server survives it: no answer is an "internal" error (a handler
// failed or panicked), no socket is closed, every frame the server sends is
// UTF-8 JSON, the socket answers a ping afterwards and can still join.
//
// The session, its host's socket and a participant's socket are set up once
// per process. An input starting with 'H' is sent by the host (the rest of
// it); any other by the participant. Before sending, $SESSION, $HOST, $PART
// and $VOTE are replaced with the session's id, the host's and the
// participant's user ids and the latest vote's id, so that the corpus can
// reach past "not found".
//
// Inputs are kept below the hub's 64 KiB frame limit (which closes the
// socket with 1009, as documented), and sends are paced below the hub's
// 1,000 messages a second (over which it closes with 1008). A chat
// rate_limited is a fine answer.
func FuzzLiveFrame(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add([]byte(s))
	}
	r := newFuzzRoom(f)
	f.Fuzz(func(t *testing.T, in []byte) { r.run(t, in) })
}

const (
	fuzzMaxFrame = 60 << 10 // under the hub's 64 KiB
	fuzzRate     = 800.0    // messages a second per socket; the hub allows 1,000
	fuzzBurst    = 200.0
	fuzzWait     = 10 * time.Second // for one answer; far more than an iteration takes
	// hubRateLimited is the hub's own rate_limited message (the chat's has
	// another): paced as we are, it means the pacing is wrong.
	hubRateLimited = "Too many messages; slow down."
	fuzzNoVote     = "01890000-0000-7000-8000-0000000000ff"
)

// fuzzSeeds are one valid and a few invalid messages of every type (the
// corpus under testdata/fuzz/FuzzLiveFrame holds more). Oversize values
// are left to TestLiveMalformedEveryMessage: big seeds slow every mutation
// and minimization down.
func fuzzSeeds() []string {
	return []string{
		// frames the hub refuses
		``, `{`, `null`, `[]`, `{}`, `{"type":5}`, `{"type":"nope"}`, `{"type":"ping"}`, `H{"type":"ping","x":[1]}`,
		// join_session, leave_session
		`{"type":"join_session","session_id":"$SESSION"}`,
		`{"type":"join_session","session_id":"$SESSION","last_seq":1}`,
		`{"type":"join_session","session_id":"$SESSION","last_seq":18446744073709551615}`,
		`{"type":"join_session","session_id":"nope"}`,
		`{"type":"join_session","session_id":"$SESSION","user_id":"$HOST"}`,
		`{"type":"join_session","session_id":5}`,
		`{"type":"leave_session"}`,
		`H{"type":"leave_session"}`,
		`{"type":"leave_session","user_id":"$PART"}`,
		`{"type":"leave_session","now":true}`,
		// chat_message
		`{"type":"chat_message","message":"hi"}`,
		`{"type":"chat_message","message":"ça va, 💪?"}`,
		`{"type":"chat_message","message":"  "}`,
		`{"type":"chat_message","message":"\u0000"}`,
		`{"type":"chat_message","message":["hi"]}`,
		`{"type":"chat_message","message":"hi","user_id":"$HOST"}`,
		// exercise_update
		`{"type":"exercise_update","exercise":"Squat","reps":10,"weight_kg":40.5,"heart_rate":130}`,
		`{"type":"exercise_update","exercise":"Squat","reps":-1}`,
		`{"type":"exercise_update","exercise":"Squat","weight_kg":1e999}`,
		`{"type":"exercise_update","exercise":"0123456789012345678901234567890123456789012345678901234567890123X"}`,
		`{"type":"exercise_update","exercise":"Plank","heart_rate":251}`,
		// vote_start, vote_cast
		`H{"type":"vote_start","question":"Next?","options":["Legs","Core"],"closes_in_s":1}`,
		`H{"type":"vote_start","question":"Next?","options":["Legs","legs"],"closes_in_s":60}`,
		`H{"type":"vote_start","question":"Next?","options":["A","B","C","D","E","F","G"],"closes_in_s":60}`,
		`H{"type":"vote_start","question":"Next?","options":["Legs","Core"],"closes_in_s":3601}`,
		`{"type":"vote_start","question":"Next?","options":["Legs","Core"],"closes_in_s":60}`,
		`{"type":"vote_cast","vote_id":"$VOTE","option":"Legs"}`,
		`H{"type":"vote_cast","vote_id":"$VOTE","option":"Core"}`,
		`{"type":"vote_cast","vote_id":"$VOTE","option":"Arms"}`,
		`{"type":"vote_cast","vote_id":"$VOTE"}`,
		`{"type":"vote_cast","vote_id":1,"option":"Legs"}`,
		// timer_start, timer_pause, timer_reset
		`H{"type":"timer_start","duration_s":30,"label":"Squats"}`,
		`H{"type":"timer_start"}`,
		`H{"type":"timer_start","duration_s":0}`,
		`H{"type":"timer_start","duration_s":86401}`,
		`H{"type":"timer_start","duration_s":30,"label":"a\nb"}`,
		`{"type":"timer_start","duration_s":30}`,
		`H{"type":"timer_pause"}`,
		`H{"type":"timer_pause","duration_s":1}`,
		`H{"type":"timer_reset"}`,
		`{"type":"timer_reset"}`,
		// media_state, signal
		`{"type":"media_state","camera":true,"mic":false}`,
		`{"type":"media_state","camera":true}`,
		`{"type":"media_state","camera":"on","mic":false}`,
		`{"type":"signal","to_user_id":"$HOST","kind":"offer","data":{"sdp":"v=0"}}`,
		`{"type":"signal","to_user_id":"$HOST","kind":"offer","data":{"sdp":"v=0\r\ns=café"}}`,
		`H{"type":"signal","to_user_id":"$PART","kind":"candidate","data":"c"}`,
		`{"type":"signal","to_user_id":"$HOST","kind":"bogus","data":{}}`,
		`{"type":"signal","to_user_id":"$PART","kind":"answer","data":{}}`,
		`{"type":"signal","to_user_id":"$HOST","kind":"offer","data":null}`,
		`{"type":"signal","to_user_id":"$HOST","kind":"offer"}`,
	}
}

// fuzzRoom is FuzzLiveFrame's live session, shared by its iterations.
type fuzzRoom struct {
	e       *liveEnv
	session string
	host    *fuzzSocket
	part    *fuzzSocket
	vote    string // the latest vote_opened's id
	nonce   string // this process's, in fence signals
	fences  int

	mu  sync.Mutex
	all []*fuzzSocket // every socket dialed, closed at the end
}

// fuzzSocket is one user's socket, read by a goroutine of its own so that
// the server never finds it slow, even while an iteration reads the other.
type fuzzSocket struct {
	name   string
	u      *user
	ws     *websocket.Conn
	frames chan fuzzFrame
	done   chan struct{}
	wg     sync.WaitGroup
	dead   bool
	fence  string  // the latest fence signal it received
	tokens float64 // pacing
	last   time.Time
}

// fuzzFrame is a frame as read, or the read error that ended the socket.
type fuzzFrame struct {
	raw []byte
	err error
}

func newFuzzRoom(f *testing.F) *fuzzRoom {
	e := newLiveEnv(f)
	r := &fuzzRoom{e: e, session: e.session(f, e.host, nil).ID, nonce: uuid.NewString()}
	f.Cleanup(r.close)
	var err error
	if r.host, err = r.connect("host", e.host); err != nil {
		f.Fatal(err)
	}
	if r.part, err = r.connect("participant", e.a); err != nil {
		f.Fatal(err)
	}
	return r
}

// connect dials a socket for u and joins the session.
func (r *fuzzRoom) connect(name string, u *user) (*fuzzSocket, error) {
	hdr := http.Header{"Authorization": {"Bearer " + u.Token}}
	ws, resp, err := websocket.DefaultDialer.Dial(r.e.ws, hdr)
	if err != nil {
		return nil, fmt.Errorf("%s: dial: %w", name, err)
	}
	_ = resp.Body.Close()
	s := &fuzzSocket{name: name, u: u, ws: ws, frames: make(chan fuzzFrame, 4096), done: make(chan struct{}),
		tokens: fuzzBurst, last: time.Now()}
	r.mu.Lock()
	r.all = append(r.all, s)
	r.mu.Unlock()
	s.wg.Go(func() {
		for {
			_, b, err := ws.ReadMessage()
			select {
			case s.frames <- fuzzFrame{raw: b, err: err}:
			case <-s.done:
				return
			}
			if err != nil {
				return
			}
		}
	})
	if err := s.write(r.joinMsg()); err != nil {
		return nil, err
	}
	for {
		ff, err := s.await()
		if err != nil {
			return nil, err
		}
		var fr frame
		if err := json.Unmarshal(ff.raw, &fr); err != nil {
			return nil, fmt.Errorf("%s: %w: %q", name, err, ff.raw)
		}
		switch fr.Type {
		case "error":
			return nil, fmt.Errorf("%s: join refused: %s: %s", name, fr.Code, fr.Message)
		case groups.EvState:
			return s, nil
		}
	}
}

func (r *fuzzRoom) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.all {
		s.close()
	}
}

func (s *fuzzSocket) close() {
	select {
	case <-s.done:
	default:
		close(s.done)
	}
	_ = s.ws.Close()
	s.wg.Wait()
}

func (r *fuzzRoom) joinMsg() []byte {
	return []byte(`{"type":"join_session","session_id":"` + r.session + `"}`)
}

// write sends one text frame, paced below the hub's rate limit.
func (s *fuzzSocket) write(b []byte) error {
	now := time.Now()
	s.tokens = min(fuzzBurst, s.tokens+now.Sub(s.last).Seconds()*fuzzRate)
	s.last = now
	if s.tokens < 1 {
		time.Sleep(time.Duration((1 - s.tokens) / fuzzRate * float64(time.Second)))
		s.tokens, s.last = 1, time.Now()
	}
	s.tokens--
	if err := s.ws.WriteMessage(websocket.TextMessage, b); err != nil {
		s.dead = true
		return fmt.Errorf("%s: write: %w", s.name, err)
	}
	return nil
}

// await returns the socket's next frame.
func (s *fuzzSocket) await() (fuzzFrame, error) {
	select {
	case ff := <-s.frames:
		if ff.err != nil {
			s.dead = true
			var ce *websocket.CloseError
			if errors.As(ff.err, &ce) {
				return ff, fmt.Errorf("%s: the server closed the socket: %d %q", s.name, ce.Code, ce.Text)
			}
			return ff, fmt.Errorf("%s: the socket broke: %w", s.name, ff.err)
		}
		return ff, nil
	case <-time.After(fuzzWait):
		s.dead = true // out of step: start afresh
		return fuzzFrame{}, fmt.Errorf("%s: no frame in %v", s.name, fuzzWait)
	}
}

// check fails t on a frame the server must never send and notes votes.
func (r *fuzzRoom) check(t *testing.T, s *fuzzSocket, in []byte, raw []byte) frame {
	t.Helper()
	var fr frame
	if err := json.Unmarshal(raw, &fr); err != nil {
		t.Fatalf("%s got a frame that is not JSON (%v) after %.300q:\n%.2000q", s.name, err, in, raw)
	}
	if !utf8.Valid(raw) {
		t.Fatalf("%s got a text frame that is not UTF-8 (a browser fails the connection, 1007) after %.300q:\n%.2000q", s.name, in, raw)
	}
	switch {
	case fr.Type == "error" && fr.Code == "internal":
		t.Fatalf("%s got an internal error after %.300q: %s", s.name, in, fr.Message)
	case fr.Type == "error" && fr.Message == hubRateLimited:
		s.dead = true
		t.Fatalf("%s was rate limited by the hub, paced as it is", s.name)
	case fr.Type == groups.EvVoteOpened:
		var v groups.VoteOpened
		if json.Unmarshal(fr.Data, &v) == nil && v.VoteID != "" {
			r.vote = v.VoteID
		}
	case fr.Type == groups.EvSignal:
		var sig struct {
			Data json.RawMessage `json:"data"`
		}
		if json.Unmarshal(fr.Data, &sig) == nil && strings.HasPrefix(string(sig.Data), `{"fence":"`+r.nonce) {
			s.fence = string(sig.Data)
		}
	}
	return fr
}

// drain checks the frames s has received so far, without waiting.
func (r *fuzzRoom) drain(t *testing.T, s *fuzzSocket, in []byte) {
	t.Helper()
	for {
		select {
		case ff := <-s.frames:
			if ff.err != nil {
				s.dead = true
				t.Fatalf("%s: the socket closed: %v", s.name, ff.err)
			}
			r.check(t, s, in, ff.raw)
		default:
			return
		}
	}
}

// until reads s up to count frames of type typ. When what is not "",
// an error frame first fails t: what was refused.
func (r *fuzzRoom) until(t *testing.T, s *fuzzSocket, in []byte, typ string, count int, what string) {
	t.Helper()
	for count > 0 {
		ff, err := s.await()
		if err != nil {
			t.Fatalf("after %.300q: %v", in, err)
		}
		fr := r.check(t, s, in, ff.raw)
		if what != "" && fr.Type == "error" {
			s.dead = true
			t.Fatalf("%s: after %.300q, %s was refused: %s: %s", s.name, in, what, fr.Code, fr.Message)
		}
		if fr.Type == typ {
			count--
		}
	}
}

// fence has from send to a signal that only to receives; it returns the
// signal's data. The room's events reach each member in order, so once to
// has it, to has every event published before it.
func (r *fuzzRoom) fence(t *testing.T, from, to *fuzzSocket) string {
	t.Helper()
	r.fences++
	id := fmt.Sprintf(`{"fence":"%s-%d"}`, r.nonce, r.fences)
	r.send(t, from, []byte(`{"type":"signal","kind":"candidate","to_user_id":"`+to.u.ID+`","data":`+id+`}`), []byte(`{"type":"ping"}`))
	return id
}

// untilFence reads s up to the fence signal id (which an earlier read may
// have seen already).
func (r *fuzzRoom) untilFence(t *testing.T, s *fuzzSocket, in []byte, id string) {
	t.Helper()
	for s.fence != id {
		ff, err := s.await()
		if err != nil {
			t.Fatalf("after %.300q, waiting for the fence: %v", in, err)
		}
		r.check(t, s, in, ff.raw)
	}
}

// send writes the frames to s.
func (r *fuzzRoom) send(t *testing.T, s *fuzzSocket, frames ...[]byte) {
	t.Helper()
	for _, b := range frames {
		if err := s.write(b); err != nil {
			t.Fatal(err)
		}
	}
}

// heal replaces a socket that a failed iteration left broken or out of
// step, so that one failure does not fail every input after it (and
// minimization finds the input that failed).
func (r *fuzzRoom) heal(t *testing.T) {
	t.Helper()
	for _, p := range []**fuzzSocket{&r.host, &r.part} {
		if !(*p).dead {
			continue
		}
		(*p).close()
		s, err := r.connect((*p).name, (*p).u)
		require.NoError(t, err, "reconnect")
		*p = s
	}
}

// expand fills in the placeholders.
func (r *fuzzRoom) expand(in []byte) []byte {
	vote := r.vote
	if vote == "" {
		vote = fuzzNoVote
	}
	return []byte(strings.NewReplacer("$SESSION", r.session, "$HOST", r.host.u.ID, "$PART", r.part.u.ID,
		"$VOTE", vote).Replace(string(in)))
}

// hubType is the type the hub dispatches msg by ("" for a frame it
// refuses as bad_message), decoded as the hub does.
func hubType(msg []byte) string {
	var env struct {
		Type string `json:"type"`
	}
	if json.Unmarshal(msg, &env) != nil {
		return ""
	}
	return env.Type
}

func (r *fuzzRoom) run(t *testing.T, in []byte) {
	if len(in) > fuzzMaxFrame {
		return
	}
	r.heal(t)
	defer func() {
		if t.Failed() { // the sockets are out of step: the next input starts afresh
			r.host.dead, r.part.dead = true, true
		}
	}()
	s, other, body := r.part, r.host, in
	if len(in) > 0 && in[0] == 'H' {
		s, other, body = r.host, r.part, in[1:]
	}
	msg := r.expand(body)
	if len(msg) > fuzzMaxFrame {
		return
	}
	r.drain(t, other, in)
	r.drain(t, s, in)
	typ := hubType(msg)
	r.send(t, s, msg, []byte(`{"type":"ping"}`))
	pongs := 1
	if typ == "ping" {
		pongs = 2
	}
	// Every answer to msg comes before the pong: a socket's messages are
	// handled one at a time, in order.
	r.until(t, s, in, "pong", pongs, "")
	if typ == groups.MsgJoin || typ == groups.MsgLeave { // it may have left: back in
		r.send(t, s, r.joinMsg())
		r.until(t, s, in, groups.EvState, 1, "join_session")
	}
	// Both are still in the room, can signal each other, and have every
	// event msg caused.
	toOther, toSelf := r.fence(t, s, other), r.fence(t, other, s)
	r.until(t, s, in, "pong", 1, "the fence signal")
	r.until(t, other, in, "pong", 1, "the fence signal")
	r.untilFence(t, other, in, toOther)
	r.untilFence(t, s, in, toSelf)
}
