package imap

import (
	"context"
	"strconv"
	"strings"
)

// The client side of CONDSTORE and QRESYNC (RFC 7162). Enable turns them
// on (Enable(ctx, "QRESYNC") implies CONDSTORE); SelectWith resynchronizes
// a mailbox; FetchChangedSince and StoreUnchangedSince are FETCH
// (CHANGEDSINCE) and STORE (UNCHANGEDSINCE); Fetch decodes MODSEQ into
// FetchMessage.ModSeq and Status asks for HIGHESTMODSEQ from a server
// that offers CONDSTORE.

// SelectOptions are the parameters of SelectWith.
type SelectOptions struct {
	// ReadOnly selects with EXAMINE.
	ReadOnly bool
	// CondStore sends the CONDSTORE parameter, which enables it.
	CondStore bool
	// QResync, when set, resynchronizes from what the client knows
	// (RFC 7162 section 3.2.5); QRESYNC must be enabled.
	QResync *QResyncParams
}

// QResyncParams are the client's knowledge of a mailbox for SELECT
// (QRESYNC): the UIDVALIDITY and the HIGHESTMODSEQ it saw last, and
// optionally the UIDs it knows and pairs of sequence numbers and UIDs
// (KnownSeqs and KnownSeqUIDs, of equal length) that help the server
// limit VANISHED.
type QResyncParams struct {
	UIDValidity  uint32
	ModSeq       uint64
	KnownUIDs    SeqSet
	KnownSeqs    SeqSet
	KnownSeqUIDs SeqSet
}

// SelectWith opens a mailbox with CONDSTORE or QRESYNC parameters. With
// QResync and a matching UIDVALIDITY, SelectData.Vanished lists the UIDs
// expunged since and SelectData.Changed the messages changed since
// (with UID, FLAGS and MODSEQ).
func (c *Client) SelectWith(ctx context.Context, name string, opts *SelectOptions) (*SelectData, error) {
	if opts == nil {
		opts = &SelectOptions{}
	}
	var params []string
	if opts.CondStore {
		params = append(params, "CONDSTORE")
	}
	if q := opts.QResync; q != nil {
		p := "QRESYNC (" + strconv.FormatUint(uint64(q.UIDValidity), 10) + " " + strconv.FormatUint(q.ModSeq, 10)
		if len(q.KnownUIDs) > 0 {
			p += " " + q.KnownUIDs.String()
		}
		if len(q.KnownSeqs) > 0 && len(q.KnownSeqUIDs) > 0 {
			if len(q.KnownUIDs) == 0 {
				p += " 1:*"
			}
			p += " (" + q.KnownSeqs.String() + " " + q.KnownSeqUIDs.String() + ")"
		}
		params = append(params, p+")")
	}
	var args []arg
	if len(params) > 0 {
		args = []arg{rawArg("(" + strings.Join(params, " ") + ")")}
	}
	return c.selectMailbox(ctx, name, opts.ReadOnly, args)
}

// selectCond notes what CONDSTORE and QRESYNC add to a SELECT response.
func (c *Client) selectCond(d *SelectData, r *response) {
	switch r.name {
	case "OK":
		f := strings.Fields(r.code)
		if len(f) == 2 && strings.EqualFold(f[0], "HIGHESTMODSEQ") {
			d.HighestModSeq, _ = strconv.ParseUint(f[1], 10, 64)
		}
		if len(f) == 1 && strings.EqualFold(f[0], "NOMODSEQ") {
			d.NoModSeq = true
		}
	case "VANISHED":
		d.Vanished = append(d.Vanished, vanishedUIDs(r)...)
	case "FETCH":
		if len(r.fields) > 0 {
			d.Changed = append(d.Changed, fetchMessageOf(r))
		}
	}
}

// vanishedUIDs returns the UIDs of a VANISHED response, with or without
// (EARLIER); a set larger than a million UIDs is cut there.
func vanishedUIDs(r *response) []UID {
	if len(r.fields) == 0 {
		return nil
	}
	set := r.fields[len(r.fields)-1].String()
	var out []UID
	for _, n := range expandSet(set) {
		out = append(out, UID(n))
	}
	return out
}

// FetchChangedSince runs FETCH (UID FETCH with uid) with the CHANGEDSINCE
// modifier: only the messages of set whose mod-sequence is above since,
// with MODSEQ. With vanished (UID FETCH only, QRESYNC enabled) it also
// returns the UIDs of set expunged since (VANISHED (EARLIER)).
func (c *Client) FetchChangedSince(ctx context.Context, set SeqSet, items string, uid bool, since uint64, vanished bool) ([]FetchMessage, []UID, error) {
	mod := "(CHANGEDSINCE " + strconv.FormatUint(since, 10)
	if vanished {
		mod += " VANISHED"
	}
	mod += ")"
	var out []FetchMessage
	var gone []UID
	_, err := c.do(ctx, uidPrefix(uid, "FETCH"), []arg{rawArg(set.String()), rawArg(items), rawArg(mod)}, func(r *response) error {
		switch {
		case r.name == "FETCH" && len(r.fields) > 0:
			out = append(out, fetchMessageOf(r))
		case r.name == "VANISHED" && len(r.fields) == 2:
			gone = append(gone, vanishedUIDs(r)...)
		}
		return nil
	})
	return out, gone, err
}

// StoreUnchangedSince runs STORE (UID STORE with uid) with UNCHANGEDSINCE
// (RFC 7162 section 3.1.3): the messages changed since keep their flags,
// and modified lists them (sequence numbers, or UIDs with uid) from the
// MODIFIED response code. msgs are the FETCH responses, with the new
// MODSEQ of each message stored.
func (c *Client) StoreUnchangedSince(ctx context.Context, set SeqSet, op StoreOp, flags []Flag, uid bool, since uint64) (msgs []FetchMessage, modified []uint32, err error) {
	item := "FLAGS.SILENT"
	switch op {
	case StoreAdd:
		item = "+" + item
	case StoreRemove:
		item = "-" + item
	}
	mod := "(UNCHANGEDSINCE " + strconv.FormatUint(since, 10) + ")"
	resp, err := c.do(ctx, uidPrefix(uid, "STORE"), []arg{rawArg(set.String()), rawArg(mod), rawArg(item), rawArg(string(appendFlags(nil, flags)))}, func(r *response) error {
		if r.name == "FETCH" && len(r.fields) > 0 {
			msgs = append(msgs, fetchMessageOf(r))
		}
		return nil
	})
	if resp != nil {
		if f := strings.Fields(resp.code); len(f) == 2 && strings.EqualFold(f[0], "MODIFIED") {
			modified = expandSet(f[1])
		}
	}
	return msgs, modified, err
}
