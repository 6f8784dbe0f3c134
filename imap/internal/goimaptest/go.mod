module github.com/heraldmail/herald/imap/internal/goimaptest

go 1.26.0

require github.com/heraldmail/herald v0.0.0

require (
	github.com/emersion/go-imap/v2 v2.0.0-beta.8
	github.com/emersion/go-message v0.18.2 // indirect
	github.com/emersion/go-sasl v0.0.0-20241020182733-b788ff22d5a6 // indirect
	golang.org/x/sys v0.50.0 // indirect
	golang.org/x/text v0.44.0 // indirect
)

replace github.com/heraldmail/herald => ../../../
