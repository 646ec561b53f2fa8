package vault

// Webhook events other than the token's: the write that causes one tags its
// audit entry with withEvent, and queueEvents turns the tag into deliveries
// in the same batch. The payloads are the hosted docs' (webhooks/eventdata),
// built here and only here, from explicit fields: never a key, a proxy's
// configuration or transforms, nor a reactor's code or configuration.
// The event types of applications, their keys, proxies and reactors.
var entityEventTypes = []string{
	"application.created", "application.updated", "application.deleted",
	"application.key.created", "application.key.deleted",
	"proxy.created", "proxy.updated", "proxy.deleted",
	"reactor.created", "reactor.updated", "reactor.deleted",
	"tenant.updated", "tenant.deleted", "token.property.expired",
}

// The event types of sessions and token intents.
var sessionEventTypes = []string{"session.created", "session.authorized",
	"token-intent.created", "token-intent.deleted", "token-intent.converted"}
