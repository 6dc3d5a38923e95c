package tghtml

// Helpers for the external test package (fuzz_test.go), which imports the
// Telegram emulator; an internal test importing it could form a cycle once
// the emulator uses this package.
var (
	CheckHTML      = checkHTML
	CheckParts     = checkParts
	CheckRendered  = checkRendered
	MarkdownInputs = func() []string {
		var in []string
		for _, tt := range markdownTests {
			in = append(in, tt.md)
		}
		return in
	}
)
