package imap

import (
	"bytes"
	"testing"
)

func BenchmarkBuildStructure(b *testing.B) {
	data := []byte("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: message/rfc822\r\n\r\nContent-Type: multipart/alternative; boundary=c\r\n\r\n--c\r\n\r\nx\r\n--c--\r\n--b\r\n\r\ny\r\n--b--\r\n")
	b.ReportAllocs()
	for b.Loop() {
		root, _ := buildStructure(bytes.NewReader(data), int64(len(data)))
		appendBodyStructure(nil, root, true, false)
	}
}
