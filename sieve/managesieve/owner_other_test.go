//go:build !unix

package managesieve_test

import "os"

func owner(fi os.FileInfo) (uid, gid int, ok bool) { return 0, 0, false }
