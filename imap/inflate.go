package imap

import (
	"errors"
	"io"
)

// inflater decodes a raw DEFLATE stream (RFC 1951) for COMPRESS=DEFLATE.
// Unlike compress/flate's reader, it hands out the text of every block as
// soon as the block ends: clients such as mbsync end each command with
// zlib's Z_PARTIAL_FLUSH (an empty fixed-code block, not byte-aligned),
// after which compress/flate would keep the text until more input came.
// It holds the 32 KiB window and small code tables; input is read a byte
// at a time from an io.ByteReader, so nothing is read past what a block
// needs.
type inflater struct {
	r    io.ByteReader
	bits uint32
	nb   uint

	win  [1 << 15]byte
	wpos int  // next write position in win
	full bool // the window has wrapped: every distance up to 32 KiB is valid
	err  error

	// state
	final  bool
	inBlk  bool // inside a block
	stored int  // bytes left of a stored block, or -1 for a coded one
	copyN  int  // bytes left of a length/distance copy
	copyD  int  // its distance
	lit    huff // the block's literal/length code
	dist   huff // and distance code
	lens   [320]uint8
	lenbuf [19]uint8
}

// errCorrupt is the error of a stream that does not inflate.
var errCorrupt = errors.New("imap: corrupt DEFLATE stream")

// huff is a canonical Huffman code: counts of codes by length and the
// symbols in code order.
type huff struct {
	count [16]uint16
	sym   [288]uint16
}

// build makes the code for lengths; it fails for an over-subscribed set.
// An incomplete set is allowed (a single distance code, or none), as zlib
// does; a code outside it fails when met.
func (h *huff) build(lengths []uint8) error {
	h.count = [16]uint16{}
	for _, l := range lengths {
		h.count[l]++
	}
	left := 1
	for l := 1; l < 16; l++ {
		left <<= 1
		left -= int(h.count[l])
		if left < 0 {
			return errCorrupt
		}
	}
	var offs [16]uint16
	for l := 1; l < 15; l++ {
		offs[l+1] = offs[l] + h.count[l]
	}
	for s, l := range lengths {
		if l != 0 {
			h.sym[offs[l]] = uint16(s)
			offs[l]++
		}
	}
	return nil
}

func newInflater(r io.ByteReader) *inflater { return &inflater{r: r, stored: -1} }

func (f *inflater) need(n uint) error {
	for f.nb < n {
		b, err := f.r.ReadByte()
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
		f.bits |= uint32(b) << f.nb
		f.nb += 8
	}
	return nil
}

func (f *inflater) getBits(n uint) (int, error) {
	if err := f.need(n); err != nil {
		return 0, err
	}
	v := int(f.bits & (1<<n - 1))
	f.bits >>= n
	f.nb -= n
	return v, nil
}

// decode reads one symbol of h, a bit at a time (codes are sent most
// significant bit first).
func (f *inflater) decode(h *huff) (int, error) {
	code, first, index := 0, 0, 0
	for l := 1; l < 16; l++ {
		b, err := f.getBits(1)
		if err != nil {
			return 0, err
		}
		code |= b
		count := int(h.count[l])
		if code-count < first {
			return int(h.sym[index+code-first]), nil
		}
		index += count
		first += count
		first <<= 1
		code <<= 1
	}
	return 0, errCorrupt
}

var (
	lenBase  = [29]uint16{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	lenExtra = [29]uint8{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	dstBase  = [30]uint16{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
	dstExtra = [30]uint8{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}
	clOrder  = [19]uint8{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}
)

func (f *inflater) put(b byte) {
	f.win[f.wpos] = b
	f.wpos++
	if f.wpos == len(f.win) {
		f.wpos, f.full = 0, true
	}
}

// Read returns inflated text: what fits in p, and never waits for input
// once a block has ended with text to return.
func (f *inflater) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if f.err != nil {
			break
		}
		if f.copyN > 0 {
			from := f.wpos - f.copyD
			if from < 0 {
				from += len(f.win)
			}
			b := f.win[from]
			f.put(b)
			p[n] = b
			n++
			f.copyN--
			continue
		}
		if !f.inBlk {
			if n > 0 {
				break // a block ended: hand out its text
			}
			if f.final {
				f.err = io.EOF
				break
			}
			f.err = f.header()
			continue
		}
		if f.stored >= 0 {
			if f.stored == 0 {
				f.inBlk = false
				continue
			}
			b, err := f.r.ReadByte()
			if err != nil {
				if err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
				f.err = err
				break
			}
			f.put(b)
			p[n] = b
			n++
			f.stored--
			continue
		}
		f.err = f.symbol(p, &n)
	}
	if n > 0 {
		return n, nil
	}
	return 0, f.err
}

// symbol decodes one literal, length/distance pair or end of block.
func (f *inflater) symbol(p []byte, n *int) error {
	s, err := f.decode(&f.lit)
	if err != nil {
		return err
	}
	switch {
	case s < 256:
		f.put(byte(s))
		p[*n] = byte(s)
		*n++
		return nil
	case s == 256:
		f.inBlk = false
		return nil
	}
	s -= 257
	if s >= 29 {
		return errCorrupt
	}
	e, err := f.getBits(uint(lenExtra[s]))
	if err != nil {
		return err
	}
	length := int(lenBase[s]) + e
	d, err := f.decode(&f.dist)
	if err != nil {
		return err
	}
	if d >= 30 {
		return errCorrupt
	}
	e, err = f.getBits(uint(dstExtra[d]))
	if err != nil {
		return err
	}
	dist := int(dstBase[d]) + e
	if !f.full && dist > f.wpos {
		return errCorrupt // before the start of the stream
	}
	f.copyN, f.copyD = length, dist
	return nil
}

// header reads a block header and, for a coded block, its codes.
func (f *inflater) header() error {
	h, err := f.getBits(3)
	if err != nil {
		return err
	}
	f.final = h&1 == 1
	switch h >> 1 {
	case 0:
		f.bits, f.nb = 0, 0 // to the byte boundary
		var b [4]byte
		for i := range b {
			c, err := f.r.ReadByte()
			if err != nil {
				if err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
				return err
			}
			b[i] = c
		}
		ln := int(b[0]) | int(b[1])<<8
		if ln != ^(int(b[2])|int(b[3])<<8)&0xffff {
			return errCorrupt
		}
		f.stored = ln
	case 1:
		l := f.lens[:288]
		for i := range l {
			switch {
			case i < 144:
				l[i] = 8
			case i < 256:
				l[i] = 9
			case i < 280:
				l[i] = 7
			default:
				l[i] = 8
			}
		}
		f.lit.build(l)
		d := f.lens[288:318]
		for i := range d {
			d[i] = 5
		}
		f.dist.build(d)
		f.stored = -1
	case 2:
		if err := f.dynamic(); err != nil {
			return err
		}
		f.stored = -1
	default:
		return errCorrupt
	}
	f.inBlk = true
	return nil
}

func (f *inflater) dynamic() error {
	nlen, err := f.getBits(5)
	if err != nil {
		return err
	}
	ndist, err := f.getBits(5)
	if err != nil {
		return err
	}
	ncode, err := f.getBits(4)
	if err != nil {
		return err
	}
	nlen, ndist, ncode = nlen+257, ndist+1, ncode+4
	if nlen > 286 || ndist > 30 {
		return errCorrupt
	}
	cl := f.lenbuf[:]
	for i := range cl {
		cl[i] = 0
	}
	for i := 0; i < ncode; i++ {
		v, err := f.getBits(3)
		if err != nil {
			return err
		}
		cl[clOrder[i]] = uint8(v)
	}
	var lc huff
	if err := lc.build(cl); err != nil {
		return err
	}
	lens := f.lens[:nlen+ndist]
	for i := 0; i < len(lens); {
		s, err := f.decode(&lc)
		if err != nil {
			return err
		}
		if s < 16 {
			lens[i] = uint8(s)
			i++
			continue
		}
		var rep int
		var v uint8
		switch s {
		case 16:
			if i == 0 {
				return errCorrupt
			}
			v = lens[i-1]
			rep, err = f.getBits(2)
			rep += 3
		case 17:
			rep, err = f.getBits(3)
			rep += 3
		default:
			rep, err = f.getBits(7)
			rep += 11
		}
		if err != nil {
			return err
		}
		if i+rep > len(lens) {
			return errCorrupt
		}
		for ; rep > 0; rep-- {
			lens[i] = v
			i++
		}
	}
	if lens[256] == 0 {
		return errCorrupt // no end-of-block code
	}
	if err := f.lit.build(lens[:nlen]); err != nil {
		return err
	}
	return f.dist.build(lens[nlen:])
}
