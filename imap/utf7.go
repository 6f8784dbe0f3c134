package imap

import "github.com/heraldmail/herald/internal/imaputf7"

func decodeUTF7(s string) (string, error) { return imaputf7.Decode(s) }
func encodeUTF7(s string) (string, error) { return imaputf7.Encode(s) }
