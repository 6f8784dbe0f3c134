module github.com/heraldmail/herald/bench

go 1.26.0

require github.com/heraldmail/herald v0.0.0

replace github.com/heraldmail/herald => ../
