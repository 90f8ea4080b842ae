module procsh

go 1.26

require (
	github.com/peterh/liner v1.2.3
	github.com/yuin/gopher-lua v1.1.2
	golang.org/x/sys v0.50.0
)

replace github.com/yuin/gopher-lua => ./third_party/gopher-lua
