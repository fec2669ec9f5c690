package realtime

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/fitloop/fitloop/platform/bus"
)

// event is one sequenced room event as the bus carries it. When to is set,
// only those users' sockets receive it (the others just pass its seq).
type event struct {
	seq   uint64
	to    []string
	frame []byte
}

// for reports whether the event is for userID.
func (ev event) isFor(userID string) bool { return ev.to == nil || slices.Contains(ev.to, userID) }

// roomLog assigns room sequence numbers, publishes and keeps the last events.
type roomLog interface {
	// append publishes prefix+seq+suffix on the room's topic with the room's
	// next seq, atomically, and keeps it for replay; to is "" (everyone) or
	// the addressed user ids joined by commas.
	append(ctx context.Context, room, to string, prefix, suffix []byte) (uint64, error)
	// since returns the kept events after seq, oldest first, and the room's
	// head; ok is false when events after seq are no longer kept.
	since(ctx context.Context, room string, after uint64) (evs []event, head uint64, ok bool, err error)
}

func roomTopic(room string) string { return "rt:room:" + room }

// encodeEvent builds the bus message "<seq>[ <to>]\n<prefix><seq><suffix>".
func encodeEvent(seq uint64, to string, prefix, suffix []byte) []byte {
	s := strconv.AppendUint(nil, seq, 10)
	b := make([]byte, 0, 2*len(s)+2+len(to)+len(prefix)+len(suffix))
	b = append(b, s...)
	if to != "" {
		b = append(append(b, ' '), to...)
	}
	b = append(b, '\n')
	b = append(append(append(b, prefix...), s...), suffix...)
	return b
}

func decodeEvent(msg []byte) (event, error) {
	i := bytes.IndexByte(msg, '\n')
	if i < 0 {
		return event{}, errors.New("realtime: malformed room event")
	}
	head, to, addressed := bytes.Cut(msg[:i], []byte{' '})
	seq, err := strconv.ParseUint(string(head), 10, 64)
	if err != nil || (addressed && len(to) == 0) {
		return event{}, fmt.Errorf("realtime: malformed room event %q", msg[:i])
	}
	ev := event{seq: seq, frame: msg[i+1:]}
	if addressed {
		ev.to = strings.Split(string(to), ",")
	}
	return ev, nil
}

// covers reports whether evs (the kept tail, ending at head) reaches back to
// after, so that a client at after misses nothing.
func covers(evs []event, head, after uint64) bool {
	switch {
	case after > head: // the counter was reset (expired): the client is ahead
		return false
	case after == head:
		return true
	default:
		return len(evs) > 0 && evs[0].seq <= after+1
	}
}

// memoryLog is the single-replica roomLog. A room nobody published to for
// ttl is forgotten, like the Redis log's expiry, so memory stays bounded by
// the rooms in use; a client coming back to a forgotten room gets
// resync_required.
type memoryLog struct {
	bus   bus.Bus
	keep  int
	ttl   time.Duration
	mu    sync.Mutex
	rooms map[string]*memRoom
	swept time.Time
}

type memRoom struct {
	head uint64
	ring []event // at most keep, oldest first
	last time.Time
}

func newMemoryLog(b bus.Bus, keep int, ttl time.Duration) *memoryLog {
	return &memoryLog{bus: b, keep: keep, ttl: ttl, rooms: map[string]*memRoom{}}
}

// sweep forgets idle rooms, at most once a minute (l.mu held).
func (l *memoryLog) sweep(now time.Time) {
	if now.Sub(l.swept) < time.Minute {
		return
	}
	l.swept = now
	for name, r := range l.rooms {
		if now.Sub(r.last) > l.ttl {
			delete(l.rooms, name)
		}
	}
}

func (l *memoryLog) append(ctx context.Context, room, to string, prefix, suffix []byte) (uint64, error) {
	// One lock for every room keeps publish order equal to seq order; the
	// memory bus's Publish never blocks, so the section is short.
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	l.sweep(now)
	r := l.rooms[room]
	if r == nil {
		r = &memRoom{}
		l.rooms[room] = r
	}
	r.last = now
	seq := r.head + 1
	msg := encodeEvent(seq, to, prefix, suffix)
	if err := l.bus.Publish(ctx, roomTopic(room), msg); err != nil {
		return 0, err
	}
	r.head = seq
	ev, _ := decodeEvent(msg)
	if len(r.ring) == l.keep {
		r.ring = append(r.ring[:0], r.ring[1:]...)
	}
	r.ring = append(r.ring, ev)
	return seq, nil
}

func (l *memoryLog) since(_ context.Context, room string, after uint64) ([]event, uint64, bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.rooms[room]
	if r == nil {
		return nil, 0, after == 0, nil
	}
	var out []event
	for _, ev := range r.ring {
		if ev.seq > after {
			out = append(out, ev)
		}
	}
	return out, r.head, covers(r.ring, r.head, after), nil
}

// redisLog is the roomLog shared by replicas through Redis. Keys carry the
// bus's {bus} hash tag so that the script's keys and channel live on one
// shard.
type redisLog struct {
	client goredis.UniversalClient
	keep   int
	ttl    time.Duration
}

// appendScript: KEYS seq, log; ARGV channel, prefix, suffix, keep, ttl (s),
// addressing ("" or " <to>").
var appendScript = goredis.NewScript(`
local seq = redis.call('INCR', KEYS[1])
local msg = seq .. ARGV[6] .. '\n' .. ARGV[2] .. seq .. ARGV[3]
redis.call('PUBLISH', ARGV[1], msg)
redis.call('RPUSH', KEYS[2], msg)
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[4]), -1)
redis.call('EXPIRE', KEYS[1], ARGV[5])
redis.call('EXPIRE', KEYS[2], ARGV[5])
return seq`)

func redisKeys(room string) (seq, log string) {
	p := bus.ChannelPrefix + "rt:"
	return p + "seq:" + room, p + "log:" + room
}

func (l *redisLog) append(ctx context.Context, room, to string, prefix, suffix []byte) (uint64, error) {
	seqKey, logKey := redisKeys(room)
	if to != "" {
		to = " " + to
	}
	n, err := appendScript.Run(ctx, l.client, []string{seqKey, logKey},
		bus.ChannelPrefix+roomTopic(room), prefix, suffix, l.keep, int(l.ttl.Seconds()), to).Int64()
	if err != nil {
		return 0, fmt.Errorf("realtime: publish to room: %w", err)
	}
	return uint64(n), nil
}

func (l *redisLog) since(ctx context.Context, room string, after uint64) ([]event, uint64, bool, error) {
	seqKey, logKey := redisKeys(room)
	var head *goredis.StringCmd
	var list *goredis.StringSliceCmd
	_, err := l.client.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		head = p.Get(ctx, seqKey)
		list = p.LRange(ctx, logKey, 0, -1)
		return nil
	})
	if err != nil && !errors.Is(err, goredis.Nil) {
		return nil, 0, false, fmt.Errorf("realtime: read room log: %w", err)
	}
	h, _ := head.Uint64() // missing key: head 0
	kept := make([]event, 0, len(list.Val()))
	var out []event
	for _, m := range list.Val() {
		ev, err := decodeEvent([]byte(m))
		if err != nil {
			return nil, 0, false, err
		}
		kept = append(kept, ev)
		if ev.seq > after {
			out = append(out, ev)
		}
	}
	return out, h, covers(kept, h, after), nil
}
