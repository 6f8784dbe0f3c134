package imap

import "slices"

// SEARCHRES (RFC 5182): SEARCH RETURN (SAVE) keeps its result as UIDs in
// the selected state, and "$" names it in every command that takes a
// sequence set, as sequence numbers of the messages still in the view or,
// in UID commands and the UID search key, as UIDs.

// savedSet returns the saved result as a sequence set: UIDs when uid is
// set, else the sequence numbers of the saved messages in the session's
// view. It is empty without a saved result.
func (c *conn) savedSet(uid bool) SeqSet {
	set := SeqSet{}
	if c.sel == nil {
		return set
	}
	var nums []uint32
	for _, u := range c.sel.saved {
		if uid {
			nums = append(nums, uint32(u))
		} else if seq := c.sel.seqOf(u); seq != 0 {
			nums = append(nums, seq)
		}
	}
	slices.Sort(nums)
	for i := 0; i < len(nums); {
		j := i
		for j+1 < len(nums) && nums[j+1] <= nums[j]+1 {
			j++
		}
		set = append(set, SeqRange{nums[i], nums[j]})
		i = j + 1
	}
	return set
}

// saveResult saves the result of SEARCH or SORT when its RETURN options
// hold SAVE (RFC 5182 section 2.4): all of it, or only the first and last
// (MIN, MAX) and the range of PARTIAL (RFC 9394 section 3.1) when these
// are the only other options. nums are sequence numbers, or UIDs for a
// UID command, in the order of the response. It reports whether SAVE was
// the only option, when no ESEARCH response is sent.
func (c *conn) saveResult(cmd *command, nums []uint32) bool {
	if !slices.Contains(cmd.searchRet, "SAVE") {
		return false
	}
	hasMin, hasMax := slices.Contains(cmd.searchRet, "MIN"), slices.Contains(cmd.searchRet, "MAX")
	all := slices.Contains(cmd.searchRet, "ALL") || slices.Contains(cmd.searchRet, "COUNT") || !hasMin && !hasMax && cmd.partial == nil
	var pick []uint32
	switch {
	case all || len(nums) == 0:
		pick = nums
	default:
		if hasMin {
			pick = append(pick, nums[0])
		}
		if hasMax {
			pick = append(pick, nums[len(nums)-1])
		}
		if cmd.partial != nil {
			pick = append(pick, cmd.partial.pick(nums)...)
		}
	}
	saved := make([]UID, 0, len(pick))
	for _, n := range pick {
		if cmd.uid {
			saved = append(saved, UID(n))
		} else if int(n) <= len(c.sel.msgs) {
			saved = append(saved, c.sel.msgs[n-1].UID)
		}
	}
	slices.Sort(saved)
	c.sel.saved = slices.Compact(saved)
	return slices.Equal(resultOptions(cmd), []string{"SAVE"})
}

// saveFailed clears the saved result after a SEARCH or SORT with SAVE
// that failed (RFC 5182 section 2.1: NO or BAD leaves "$" empty).
func (c *conn) saveFailed(cmd *command) {
	if c.sel != nil && (cmd.name == "SEARCH" || cmd.name == "SORT") && slices.Contains(cmd.searchRet, "SAVE") {
		c.sel.saved = nil
	}
}
