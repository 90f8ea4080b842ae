package parse

import (
	"strings"
	"testing"
)

// procsh patch: syntax errors read as Lua 5.1 writes them, and one at the
// end of the input says what was left open and where it began.
func TestSyntaxErrorMessages(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"=(command line)", "x = = 1", "(command line):1: syntax error near '='"},
		{"@file.lua", "local function f()\n  if x then\n  end\n", "file.lua:4: 'end' expected (to close 'function' at line 1) near '<eof>'"},
		{"t.lua", "while true do\n  print(1)\n", "t.lua:3: 'end' expected (to close 'while' at line 1) near '<eof>'"},
		{"t.lua", "for i = 1, 2 do", "t.lua:1: 'end' expected near '<eof>'"},
		{"t.lua", "if x", "t.lua:1: 'then' expected near '<eof>'"},
		{"t.lua", "if x then\nelseif y", "t.lua:2: 'then' expected near '<eof>'"},
		{"t.lua", "repeat\n  x = 1\n", "t.lua:3: 'until' expected (to close 'repeat' at line 1) near '<eof>'"},
		{"t.lua", "local t = {\n  f(function() end),\n", "t.lua:3: '}' expected (to close '{' at line 1) near '<eof>'"},
		{"t.lua", "do\n  local s = g(1,\n", "t.lua:3: ')' expected (to close '(' at line 2) near '<eof>'"},
		{"t.lua", "while f(function() return 1 end) do\n", "t.lua:2: 'end' expected (to close 'while' at line 1) near '<eof>'"},
		{"t.lua", "x =", "t.lua:1: syntax error near '<eof>'"},
	}
	for _, tt := range tests {
		_, err := Parse(strings.NewReader(tt.src), tt.name)
		if err == nil || err.Error() != tt.want {
			t.Errorf("Parse(%q) error = %v, want %q", tt.src, err, tt.want)
		}
	}
}

// procsh patch: an error at the end of the input still has Pos.Line EOF
// (the REPL reads it as a line to be continued), its line in Line.
func TestSyntaxErrorAtEOF(t *testing.T) {
	_, err := Parse(strings.NewReader("function f()\n"), "t.lua")
	pe, ok := err.(*Error)
	if !ok || pe.Pos.Line != EOF || pe.Line != 2 {
		t.Errorf("Parse error = %#v, want a *Error with Pos.Line EOF and Line 2", err)
	}
}
