package sasl

import (
	"context"
	"errors"
	"fmt"
)

// exchange drives c against s the way a protocol layer does and returns the
// number of round trips (challenges sent before done).
func exchange(ctx context.Context, c Client, s Server) (mech string, rounds int, err error) {
	mech, resp, err := c.Start()
	if err != nil {
		return "", 0, err
	}
	for rounds = 0; rounds < 10; rounds++ {
		chal, done, err := s.Next(ctx, resp)
		if err != nil {
			return mech, rounds, err
		}
		if done {
			if chal != nil {
				if _, err := c.Next(chal); err != nil {
					return mech, rounds, fmt.Errorf("client on success data: %w", err)
				}
			}
			return mech, rounds, nil
		}
		resp, err = c.Next(chal)
		if err != nil {
			return mech, rounds, fmt.Errorf("client: %w", err)
		}
		if resp == nil {
			resp = []byte{}
		}
	}
	return mech, rounds, errors.New("exchange did not end")
}

// passwords is a PasswordFunc over a map, granting authzid "admin" to
// "root" only.
func passwords(m map[string]string) PasswordFunc {
	return func(ctx context.Context, authzid, username, password string) (string, error) {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		want, ok := m[username]
		if !ok || want != password {
			return "", ErrAuthFailed
		}
		if authzid == "admin" && username == "root" {
			return "admin", nil
		}
		return "", nil
	}
}
