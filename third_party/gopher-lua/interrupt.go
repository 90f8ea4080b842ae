package lua

// procsh patch: what the VM does when a state's context is done.

// contextDone raises the error of L's done context: through
// Options.Interrupted when it is set (which may instead return, L then
// watching a live context), else as the context's error text, as
// upstream does.
func (ls *LState) contextDone() {
	if f := ls.Options.Interrupted; f != nil {
		f(ls)
		return
	}
	ls.RaiseError(ls.ctx.Err().Error())
}
