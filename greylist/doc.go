// Package greylist implements triplet greylisting (RFC 6647) for one SMTP
// server or for a fleet of MX hosts sharing one store.
//
// A first delivery attempt from an unknown (client network, envelope sender,
// envelope recipient) triplet gets a temporary failure. A real mail server
// queues the message and retries; a retry that comes after the delay and
// within the retry window passes, and so does every later message of the
// triplet. Much spamware never retries.
//
// # Policy
//
// [Policy.Check] takes a [Request] (client address, sender, recipient) and
// returns a [Decision]: [Pass], or [Defer] with the time left. It works the
// way postgrey does:
//
//   - The client address is masked to a /24 (IPv4) or /64 (IPv6) network,
//     since large senders retry from another host of the same network
//     (Options.IPv4Prefix, Options.IPv6Prefix; 32 and 128 key per host).
//   - The sender is normalised by [NormalizeSender]: BATV tags,
//     +extensions and numeric words that change with every message are
//     removed. The recipient is lower-cased ([NormalizeRecipient]).
//   - Whitelists ([Whitelist]) of client networks, client host names
//     (forward-confirmed reverse DNS through a [Resolver], such as a
//     *net.Resolver or Herald's dnsmx.Resolver), sender domains and
//     recipients pass without touching the store.
//   - After Options.AutoWhitelist successful retries (default 5) a client
//     network passes without greylisting, until it has not been seen for
//     Options.MaxAge.
//   - Options.Privacy stores only keyed hashes of the network and triplet.
//   - Time is an input: Options.Now (nil means time.Now), so tests and
//     simulations are exact.
//
// # Default timings and RFC 6647 section 5
//
// The defaults are postgrey's: a delay of 300 seconds, a retry window of 2
// days, and 35 days before an unseen passed triplet or auto-whitelisted
// client is forgotten. RFC 6647 section 5 gives the operational advice
// behind such values: the delay should be configurable and short, at least
// a minute but far below a day, because every minute of it holds up
// legitimate first contact; and the record of a client that passed should
// be kept for at least a week, so that periodic senders are not delayed
// again. 300 seconds is longer than the immediate retry of spamware yet
// no longer than the first retry interval of common MTAs (Postfix retries
// after 5 minutes, others after a few minutes to half an hour), so a
// first message is typically held up by one retry interval only. The
// 2-day window covers any sender's retry schedule while letting the
// records of triplets that never came back, the bulk of them, expire
// soon. 35 days covers weekly lists and also monthly newsletters and
// invoices.
//
// # Stores
//
// State lives behind the [Store] interface, whose one method performs the
// whole check-and-update of [Step] atomically, so that two MX hosts that
// see the same retry at the same moment never both count it. Two stores
// come with the package:
//
//   - [MemoryStore], the default: bounded (MemoryOptions.MaxEntries), sweeping
//     expired records as it goes, keyed by 128-bit digests (about 85 bytes
//     per triplet), with an optional snapshot file loaded at start and
//     written by [MemoryStore.Close] and [MemoryStore.SaveEvery], so that a
//     restart loses nothing.
//   - greylist/redisstore: every MX host of a domain shares one Redis; the
//     check-and-update is a Lua script and the records carry key TTLs.
//
// The suite in greylist/greylisttest runs the same behaviour tests against
// any Store. [Policy.Keys] gives the keys of a request, for tools that
// inspect, remove or preload records.
//
// # SMTP
//
// Call Check for each RCPT TO. For a Defer decision, answer with
// [Policy.Reply]: "451 4.7.1 Greylisted, please retry in 300 seconds
// (after ...)" (450 with Options.ReplyCode). For a message whose recipient
// passed after a delay, add the X-Greylist header field with
// [Policy.HeaderValue]. A store error should become a temporary failure
// too, or a pass if the server prefers to fail open.
//
// # Standards
//
//   - RFC 6647: Email Greylisting: An Applicability Statement for SMTP.
//   - RFC 5321 section 4.5.4.1: the retry strategy greylisting relies on.
//   - RFC 3463: enhanced status code 4.7.1 in the deferral.
package greylist
