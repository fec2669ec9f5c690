package realtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// room is this replica's view of a room: its local members and the bus
// subscription that feeds them.
type room struct {
	name  string
	refs  int           // members and joins in progress; guarded by Hub.mu
	ready chan struct{} // closed once subscribed
	err   error         // subscription failure, read after ready
	unsub func()

	mu      sync.Mutex
	members map[*Conn]*member
	// byUser indexes members by user id, so that an event addressed to a
	// few members of a large room does not visit all of them.
	byUser map[string][]*Conn
}

// add makes c a member; r.mu is held.
func (r *room) add(c *Conn, m *member) {
	r.members[c] = m
	id := c.principal.UserID
	r.byUser[id] = append(r.byUser[id], c)
}

// remove takes c out; r.mu is held.
func (r *room) remove(c *Conn) {
	delete(r.members, c)
	id := c.principal.UserID
	cs := slices.DeleteFunc(r.byUser[id], func(o *Conn) bool { return o == c })
	if len(cs) == 0 {
		delete(r.byUser, id)
		return
	}
	r.byUser[id] = cs
}

// member is one connection's position in a room. Until ready, live events
// are held in pending so that replay and live events reach it in order.
type member struct {
	last    uint64
	ready   bool
	pending []event
}

// PublishRoom sends {"type":typ,"room":room,"seq":n,"data":data} to every
// member of room on every replica and returns n, the room's next seq.
func (h *Hub) PublishRoom(ctx context.Context, room, typ string, data any) (uint64, error) {
	return h.publishRoom(ctx, room, "", typ, data)
}

// PublishRoomTo is PublishRoom for the members who are one of userIDs: the
// event takes the room's next seq (kept for replay like any other) but
// only their sockets receive it; the others see a gap in seq, which is
// not a loss. It carries messages meant for some members of a room in the
// room's order, such as a WebRTC signal to one peer.
func (h *Hub) PublishRoomTo(ctx context.Context, room string, userIDs []string, typ string, data any) (uint64, error) {
	if len(userIDs) == 0 {
		return 0, errors.New("realtime: publish to no one")
	}
	for _, id := range userIDs {
		if id == "" || strings.ContainsAny(id, ", \n") {
			return 0, fmt.Errorf("realtime: bad user id %q", id)
		}
	}
	return h.publishRoom(ctx, room, strings.Join(userIDs, ","), typ, data)
}

func (h *Hub) publishRoom(ctx context.Context, room, to, typ string, data any) (uint64, error) {
	d, err := json.Marshal(data)
	if err != nil {
		return 0, fmt.Errorf("realtime: encode event: %w", err)
	}
	t, _ := json.Marshal(typ)
	r, _ := json.Marshal(room)
	prefix := fmt.Appendf(nil, `{"type":%s,"room":%s,"seq":`, t, r)
	suffix := append(append([]byte(`,"data":`), d...), '}')
	return h.log.append(ctx, room, to, prefix, suffix)
}

// Join adds c to room. With lastSeq 0 the client starts from now; otherwise it
// first receives the events after lastSeq, or {"type":"resync_required"} when
// they are no longer kept. Either way it then gets
// {"type":"joined","room":..,"seq":head} and the live events after head.
// Authorization is the caller's: the hub does not know who may join.
func (h *Hub) Join(ctx context.Context, c *Conn, name string, lastSeq uint64) error {
	if !c.addRoom(name) {
		return nil
	}
	r, err := h.acquire(name)
	if err != nil {
		c.removeRoom(name)
		return err
	}
	m := &member{}
	r.mu.Lock()
	r.add(c, m)
	r.mu.Unlock()

	evs, head, ok, err := h.log.since(ctx, name, lastSeq)
	if err != nil {
		h.Leave(c, name)
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case lastSeq == 0:
		m.last = head
	case !ok:
		m.last = head
		_ = c.SendJSON(map[string]any{"type": "resync_required", "room": name, "seq": head})
	default:
		m.last = lastSeq
		for _, ev := range evs {
			m.deliver(c, ev)
		}
	}
	_ = c.SendJSON(map[string]any{"type": "joined", "room": name, "seq": max(head, m.last)})
	for _, ev := range m.pending {
		m.deliver(c, ev)
	}
	m.pending, m.ready = nil, true
	return nil
}

func (m *member) deliver(c *Conn, ev event) {
	if ev.seq <= m.last {
		return
	}
	m.last = ev.seq
	if ev.isFor(c.principal.UserID) {
		_ = c.Send(ev.frame)
	}
}

// Leave removes c from room.
func (h *Hub) Leave(c *Conn, name string) {
	if !c.removeRoom(name) {
		return
	}
	h.mu.Lock()
	r := h.rooms[name]
	h.mu.Unlock()
	if r == nil {
		return
	}
	r.mu.Lock()
	r.remove(c)
	r.mu.Unlock()
	h.release(r)
}

func (h *Hub) leaveAll(c *Conn) {
	for _, name := range c.roomList() {
		h.Leave(c, name)
	}
}

// acquire returns the room, subscribing this replica on its first member.
func (h *Hub) acquire(name string) (*room, error) {
	h.mu.Lock()
	r := h.rooms[name]
	if r == nil {
		r = &room{name: name, ready: make(chan struct{}), members: map[*Conn]*member{}, byUser: map[string][]*Conn{}}
		h.rooms[name] = r
		go func() {
			r.unsub, r.err = h.opt.Bus.Subscribe(roomTopic(name), func(msg []byte) { h.onRoomEvent(r, msg) })
			close(r.ready)
		}()
	}
	r.refs++
	h.mu.Unlock()
	<-r.ready
	if r.err != nil {
		h.release(r)
		return nil, fmt.Errorf("realtime: subscribe to room: %w", r.err)
	}
	return r, nil
}

// release drops a reference and unsubscribes with the last.
func (h *Hub) release(r *room) {
	h.mu.Lock()
	r.refs--
	last := r.refs == 0 && h.rooms[r.name] == r
	if last {
		delete(h.rooms, r.name)
	}
	h.mu.Unlock()
	if last {
		<-r.ready
		if r.unsub != nil {
			r.unsub()
		}
	}
}

// onRoomEvent fans one event out to the room's local members. The frame is
// the one encoded by the publisher; nothing is encoded per member.
func (h *Hub) onRoomEvent(r *room, msg []byte) {
	ev, err := decodeEvent(msg)
	if err != nil {
		h.opt.Log.Error("realtime: bad room event", "err", err)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if ev.to != nil {
		for _, id := range ev.to {
			for _, c := range r.byUser[id] {
				r.members[c].offer(c, ev)
			}
		}
		return
	}
	for c, m := range r.members {
		m.offer(c, ev)
	}
}

// offer delivers a live event, or holds it while the member is joining.
func (m *member) offer(c *Conn, ev event) {
	if !m.ready {
		m.pending = append(m.pending, ev)
		return
	}
	m.deliver(c, ev)
}
