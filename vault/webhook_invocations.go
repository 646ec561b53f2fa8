package vault

// Invocation and read events (hosted docs: webhooks/eventdata): token.read,
// proxy.invoked, reactor.invoked, reactor.completed and reactor.failed.
// They would fire on every read and call, so nothing is built or written
// unless the tenant has a webhook subscribed to the event (one cached
// lookup), and they ride the read audit queue: a buffered commit, the
// read's own durability. They carry ids, the actor, a status and timing:
// never data, args, results, headers, bodies or URLs (a proxied URL may
// hold detokenized values).

var invocationEventTypes = []string{"token.read", "proxy.invoked",
	"reactor.invoked", "reactor.completed", "reactor.failed"}
