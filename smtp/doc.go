// Package smtp implements SMTP (RFC 5321) and LMTP (RFC 2033): reply codes
// and RFC 3463 enhanced status codes, the typed Error, reply parsing and
// formatting, and an embeddable server with a Backend/Session interface.
//
// # Replies and errors
//
// [ReplyCode] and [EnhancedCode] are typed constants. [Error] is the one
// error type of the protocol: a Session returns it to choose the reply, and
// a client gets it back when the server refuses. [ReadReply] reads a
// multi-line reply, [AppendReply] formats one.
package smtp
