// The help table against what the objects really expose, and against
// the reference in docs/.

package luaapi

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"procsh/runtime"

	lua "github.com/yuin/gopher-lua"
)

// helpProbes make one object of each type whose __index is a function
// (fields computed on access), so that its fields can be found by trying
// names on it.
var helpProbes = map[string]string{
	"Process":    `return mp.current_process()`,
	"Connection": `return (mp.Pipe())`,
	"Barrier":    `return mp.Barrier(2)`,
	"Value":      `return mp.Value("i", 1)`,
	"Array":      `return mp.Array("i", 3)`,
	// A Manager's containers index their contents.
	"DictProxy":      `return mp.Manager():dict()`,
	"ListProxy":      `return mp.Manager():list()`,
	"NamespaceProxy": `return mp.Manager():Namespace()`,
	// In the abstract namespace: no socket file to remove.
	"Listener": `local l = mp.connection.Listener("\0procsh-help-l-" .. mp.current_process().pid)
		mp.connection.Client(l.address); l:accept(5); return l`,
	"SocketConnection": `local l = mp.connection.Listener("\0procsh-help-c-" .. mp.current_process().pid)
		return mp.connection.Client(l.address)`,
}

// fieldCandidates are the names tried on the probes: the attributes of
// Python's multiprocessing objects, and every name the help knows.
func fieldCandidates() []string {
	names := []string{
		"name", "daemon", "pid", "ident", "exitcode", "authkey", "sentinel", "_popen",
		"readable", "writable", "closed", "fileno", "parties", "n_waiting", "broken",
		"value", "maxsize", "_maxsize", "typecode", "size", "lock", "owner", "count",
		"timeout", "action", "duplex", "kind", "n", "len", "length",
	}
	for _, e := range helpEntries {
		if _, _, member := helpOwner(e.Name); member != "" {
			names = append(names, member)
		}
	}
	return names
}

// helpFieldsMaybeNil are fields a probe may read as nil.
var helpFieldsMaybeNil = map[string]bool{"Process.exitcode": true, "Process.limit": true}

// TestHelpCoversEverything walks the metatables of every procsh type and
// the module tables of a live state: every method, field and function
// has a help entry, and every entry names something that is there.
func TestHelpCoversEverything(t *testing.T) {
	a, err := runtime.NewArena(16 << 20) // room for a Pipe's rings
	if err != nil {
		t.Fatalf("NewArena: %v", err)
	}
	w := NewWorld(Options{Self: Identity{Name: "MainProcess"}, Arena: a})
	defer a.File().Close()
	defer w.Close()
	L := w.L
	L.SetGlobal("mp", w.module("multiprocessing"))
	exists := map[string]bool{} // every name the state really has

	// Module functions, those of mp's sub-modules included.
	modules := map[string]string{
		"mp": "multiprocessing", "time": "time",
		"mp.connection":    "multiprocessing.connection",
		"mp.shared_memory": "multiprocessing.shared_memory",
		"mp.futures":       "concurrent.futures",
		"mp.cluster":       "multiprocessing.cluster",
	}
	for short, module := range modules {
		w.module(module).ForEach(func(k, _ lua.LValue) {
			name := short + "." + lua.LVAsString(k)
			exists[name] = true
			if _, ok := helpIndex[name]; !ok {
				t.Errorf("%s has no help entry", name)
			}
		})
	}

	// Types and their methods; the metatables are made as a first object
	// of each type would make them.
	typeNames := []string{processTypeName}
	for name := range w.types {
		typeNames = append(typeNames, name)
	}
	sort.Strings(typeNames)
	getField := L.NewFunction(func(L *lua.LState) int {
		L.Push(L.GetField(L.Get(1), L.CheckString(2)))
		return 1
	})
	candidates := fieldCandidates()
	for _, full := range typeNames {
		typ := strings.TrimPrefix(full, "multiprocessing.")
		exists[typ] = true
		if _, ok := helpIndex[typ]; !ok {
			t.Errorf("type %s has no help entry", typ)
		}
		if HelpDocs[typ] == "" {
			t.Errorf("type %s has no page in HelpDocs", typ)
		}
		mt := w.typeMeta(full)
		methods := methodTable(mt)
		methods.ForEach(func(k, _ lua.LValue) {
			name := typ + ":" + lua.LVAsString(k)
			exists[name] = true
			if _, ok := lookupHelp(name); !ok {
				t.Errorf("method %s has no help entry", name)
			}
		})
		if _, ok := L.GetField(mt, "__index").(*lua.LFunction); !ok {
			continue
		}
		src, ok := helpProbes[typ]
		if !ok {
			t.Errorf("type %s computes fields in __index: add an object of it to helpProbes", typ)
			continue
		}
		fn, err := L.Load(strings.NewReader(src), "probe")
		if err != nil {
			t.Fatalf("compile %q: %v", src, err)
		}
		if err := w.Call(fn, 1); err != nil {
			t.Fatalf("run %q: %v", src, err)
		}
		obj := L.Get(-1)
		L.Pop(1)
		if got := ObjectType(L, obj); got != typ {
			t.Errorf("ObjectType(%s) = %q, want %q", src, got, typ)
		}
		for _, k := range candidates {
			if methods.RawGetString(k) != lua.LNil {
				continue
			}
			err := L.CallByParam(lua.P{Fn: getField, NRet: 1, Protect: true}, obj, lua.LString(k))
			if err != nil {
				continue // a field that raises is no field
			}
			v := L.Get(-1)
			L.Pop(1)
			if v == lua.LNil {
				continue
			}
			name := typ + "." + k
			exists[name] = true
			if _, ok := lookupHelp(name); !ok {
				t.Errorf("field %s has no help entry", name)
			}
		}
	}

	// No entry for what is not there.
	for _, e := range helpEntries {
		if !exists[e.Name] && !helpFieldsMaybeNil[e.Name] {
			t.Errorf("help entry %s names nothing the objects or modules have", e.Name)
		}
		if e.Text == "" || strings.Contains(e.Text, "\n") {
			t.Errorf("help entry %s: text %q, want one line", e.Name, e.Text)
		}
	}
}

// TestHelpInReference checks that every help entry is in the reference:
// a function by its name (mp.cpu_count), a type in a heading, a method or
// field in the sections whose headings name its type (`q:get(`, `.pid`),
// or, for what every object has (close), in a section about what they
// have in common.
func TestHelpInReference(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "docs", "reference*.md"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no docs/reference*.md: %v", err)
	}
	var all strings.Builder
	var secs []section
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		all.Write(b)
		secs = append(secs, sections(filepath.Base(f), string(b))...)
	}
	text := all.String()
	var missing []string
	for _, e := range helpEntries {
		owner, sep, member := helpOwner(e.Name)
		found := false
		switch {
		case owner == "mp" || owner == "time":
			found = strings.Contains(text, e.Name)
		case sep == "":
			word := regexp.MustCompile(`\b` + owner + `\b`)
			for _, s := range secs {
				if word.MatchString(s.heading) {
					found = true
				}
			}
		default:
			found = strings.Contains(text, e.Name) || inSections(secs, owner, sep, member)
		}
		if !found {
			missing = append(missing, e.Name)
		}
	}
	if len(missing) > 0 {
		t.Errorf("%d help entries are not in docs/reference*.md: %s", len(missing), strings.Join(missing, ", "))
	}
}

// section is a heading of a Markdown file and the text under it, up to
// the next heading of the same level or higher.
type section struct {
	file    string
	heading string
	body    string
}

var mdHeadingLine = regexp.MustCompile(`^(#{1,6})\s+(.*)$`)

func sections(file, src string) []section {
	lines := strings.Split(src, "\n")
	var out []section
	inFence := false
	type open struct {
		level, start int
		heading      string
	}
	var heads []open
	for i, l := range lines {
		if strings.HasPrefix(l, "```") {
			inFence = !inFence
		}
		if m := mdHeadingLine.FindStringSubmatch(l); m != nil && !inFence {
			heads = append(heads, open{len(m[1]), i, m[2]})
		}
	}
	for j, h := range heads {
		end := len(lines)
		for _, n := range heads[j+1:] {
			if n.level <= h.level {
				end = n.start
				break
			}
		}
		out = append(out, section{file, h.heading, strings.Join(lines[h.start+1:end], "\n")})
	}
	return out
}

// inSections says whether a section about typ (or about what every
// object of typ's page has in common) mentions member as a method (sep
// ":") or field.
func inSections(secs []section, typ, sep, member string) bool {
	word := regexp.MustCompile(`\b` + typ + `\b`)
	use := regexp.MustCompile(regexp.QuoteMeta(sep) + member + `\b`)
	if sep == ":" {
		use = regexp.MustCompile(`:` + member + `\s*[({]`)
	}
	for _, s := range secs {
		about := word.MatchString(s.heading) || s.file == HelpDocs[typ] && strings.Contains(strings.ToLower(s.heading), "in common")
		if about && (use.MatchString(s.body) || use.MatchString(s.heading)) {
			return true
		}
	}
	return false
}
