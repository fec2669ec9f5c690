// Package realtime is fitloop's WebSocket hub: GET /api/v1/ws on melody.
//
// A client authenticates at the upgrade (Authorization: Bearer, or the
// access_token query parameter for browsers, which cannot set headers on a
// WebSocket); without a valid credential the answer is a 401 envelope and no
// upgrade. The Origin must be in Options.AllowedOrigins, or equal the request
// Host when the list is empty (403 otherwise). Messages are JSON objects with a
// "type"; modules register a handler per type with Hub.Handle. The hub answers
// "ping" with "pong" and unknown types with {"type":"error","code":"unknown_type"}.
//
// Limits: a frame over MaxMessageBytes closes the connection with 1009. Each
// connection has a token bucket (RatePerSecond, Burst): a message over the
// rate is dropped and answered with an error "rate_limited"; after Burst such
// drops within ten seconds the connection is closed with 1008. Each
// connection has a bounded send queue (SendBuffer); a connection whose queue
// is full is a slow consumer and is dropped (its TCP connection is closed, so
// the client sees 1006), and fan-out never waits for it.
//
// Rooms and ordering. PublishRoom gives an event the room's next sequence
// number and publishes it on the bus in one atomic step, so that sequence
// order is publish order on every replica:
//   - with Redis (Options.Redis set), a Lua script INCRs the room's counter,
//     PUBLISHes the frame on the room's bus channel and appends it to the
//     room's replay list (capped at ReplayBuffer) — Redis runs scripts one at
//     a time, so two replicas publishing at once still get distinct seqs in
//     channel order, and replicas that started late agree on the numbers;
//   - without Redis, a per-room mutex does the same in memory.
//
// Assigning seqs on receipt (per replica) was rejected: a replica that
// started later, or whose subscriber buffer dropped one message, would number
// differently from the others.
//
// Each bus message is "<seq>\n<frame>", the frame being the JSON sent to
// clients, encoded once per event: {"type":..,"room":..,"seq":..,"data":..}.
// PublishRoomTo addresses an event to some members ("<seq> <ids>\n<frame>",
// user ids joined by commas): it is sequenced and replayed like the rest,
// and only those users' sockets receive it.
// Join subscribes the replica to the room (on its first local member), reads
// the replay list, and sends the missed events, or resync_required when the
// list no longer reaches back to last_seq; live events that arrive meanwhile
// are held and then delivered without duplicates. Pub/sub is at most once: a
// client that sees a gap in seq resyncs through REST.
//
// Revocation. CloseSessions and CloseUser go through the bus to every replica,
// which closes matching sockets with 4001 "session revoked". In case that
// message is lost, every connection's credential is re-checked through the
// Authenticator every RecheckInterval (3 s by default), once per distinct
// credential, the round's checks paced over the interval in 30 slices; an
// Unauthenticated or Forbidden answer closes it the same way, other errors
// (store down) leave it open.
package realtime
